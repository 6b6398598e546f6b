namespace VisualGen.Exporter;

public static class ExporterApp
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("usage: visualgen-export build --model DIR");
        return 2;
    }
}
