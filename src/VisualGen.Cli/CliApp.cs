namespace VisualGen.Cli;

public static class CliApp
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("usage: visualgen generate|info|build ...");
        return 2;
    }
}
