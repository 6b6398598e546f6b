using VisualGen.Cli;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary><c>info</c> says what each pipeline makes from what, without building an engine.</summary>
public class InfoMakesTests
{
    [ConformanceTheory]
    [InlineData("wan21_t2v", "video from a prompt")]
    [InlineData("wan21_i2v", "video from a prompt and an image (--image, required)")]
    [InlineData("wan22_ti2v_5b", "video from a prompt, optionally with an image (--image)")]
    [InlineData("flux1", "images from a prompt, optionally with an image (--image)")]
    [InlineData("flux2", "images from a prompt, optionally with reference images (--image, once or several times)")]
    [InlineData("cosmos3_t2i", "video (or an image: --frames 1) from a prompt, a video optionally from an image too (--image)")]
    public void Info_says_what_the_pipeline_makes(string family, string makes)
    {
        var output = new StringWriter();
        Assert.Equal(0, CliApp.Run(["info", "--model", Fixtures.Checkpoint(family)], output, new StringWriter()));
        Assert.Contains($"makes      {makes}\n", output.ToString().ReplaceLineEndings("\n"));
    }
}
