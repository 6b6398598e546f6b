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

/// <summary>A GPU allocation that fails for want of memory says so, and what to change; other failures keep the library's message.</summary>
public class DeviceOutOfMemoryMessageTests
{
    [Fact]
    public void Out_of_memory_names_the_size_and_the_remedies()
    {
        string? message = VisualGen.Engines.Cuda.Native.DeviceMemory.OutOfMemory(3L << 30,
            "vg_malloc: cudaMalloc of 3221225472 bytes: cudaErrorMemoryAllocation: out of memory");
        Assert.StartsWith("the GPU is out of memory: 3.00 GiB could not be allocated. Bound the engines' memory with --gpu-memory", message);
        Assert.Contains("--vae-tiling", message);
        Assert.Null(VisualGen.Engines.Cuda.Native.DeviceMemory.OutOfMemory(256, "vg_malloc: cudaMalloc of 256 bytes: cudaErrorInvalidValue: invalid argument"));
    }
}
