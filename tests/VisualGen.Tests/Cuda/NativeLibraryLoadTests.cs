using VisualGen.Engines.Cuda.Native;

namespace VisualGen.Tests.Cuda;

/// <summary>Why libvisualgen_native.so did not load, in one line: the system loader's reason, not .NET's list of every
/// path it tried.</summary>
public class NativeLibraryLoadTests
{
    const string Preamble = "Unable to load shared library 'libvisualgen_native.so' or one of its dependencies. In order to help " +
        "diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \n";

    [Fact]
    public void A_missing_library_says_how_to_build_and_point_at_it()
    {
        string why = NativeMethods.LoadFailure(Preamble + "libvisualgen_native.so: cannot open shared object file: No such file or directory\n");
        Assert.StartsWith("libvisualgen_native.so was not found: build it from native/ with CMake", why);
        Assert.Contains("VISUALGEN_NATIVE_LIB", why);
        Assert.DoesNotContain("\n", why);
    }

    [Fact]
    public void A_missing_dependency_is_named()
    {
        string why = NativeMethods.LoadFailure(Preamble.Replace("'libvisualgen_native.so'", "'/opt/vg/libvisualgen_native.so'") +
            "libcudnn.so.9: cannot open shared object file: No such file or directory\n");
        Assert.Equal("libvisualgen_native.so could not be loaded: libcudnn.so.9: cannot open shared object file: No such file or directory", why);
    }
}
