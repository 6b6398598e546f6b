using System.Text.RegularExpressions;

namespace VisualGen.Server.Api;

/// <summary>
/// Messages of library exceptions made fit for clients: a file path ("/root/.cache/visualgen/engines/3f…/model.onnx",
/// "C:\models\wan\config.json") is cut to its file name, so an error tells what failed without mapping the server's
/// disk. Messages of other exceptions (ONNX Runtime's, I/O's) never reach clients at all: they are logged.
/// </summary>
public static partial class ClientText
{
    // an absolute path: "/" or "X:\" then at least one more separator, up to a quote, space, bracket or comma
    [GeneratedRegex(@"(?<![\w./\\-])(?:/|[A-Za-z]:\\)(?:[^\s'""`()\[\]{},;:/\\]+[/\\])+([^\s'""`()\[\]{},;:/\\]*)")]
    private static partial Regex AbsolutePath();

    public static string WithoutPaths(string message) =>
        AbsolutePath().Replace(message, m => m.Groups[1].Value.Length > 0 ? m.Groups[1].Value : "(a server folder)");
}
