using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>
/// The C# mirrors of the native library's structs (<c>NativeMethods</c>) against the C header: the same fields in the
/// same order at the same offsets, and the same size, with offsets computed from the header under the LP64 rules
/// (x86-64 and aarch64 Linux). A field added on one side only fails here on any machine; the library's struct_size
/// check would only refuse it at run time, on a GPU.
/// </summary>
public partial class NativeAbiLayoutTests
{
    public static TheoryData<string, string> Structs => new()
    {
        { nameof(NativeMethods.Versions), "vg_versions" },
        { nameof(NativeMethods.GemmDesc), "vg_gemm_desc" },
        { nameof(NativeMethods.AttentionDesc), "vg_attention_desc" },
        { nameof(NativeMethods.AttentionArgs), "vg_attention_args" },
        { nameof(NativeMethods.SageAttentionDesc), "vg_sage_attention_desc" },
        { nameof(NativeMethods.SageAttentionArgs), "vg_sage_attention_args" },
        { nameof(NativeMethods.Fp8GemmDesc), "vg_fp8_gemm_desc" },
        { nameof(NativeMethods.RowVector), "vg_row_vector" },
        { nameof(NativeMethods.ConvDesc), "vg_conv_desc" },
        { nameof(NativeMethods.BgemmDesc), "vg_bgemm_desc" },
        { nameof(NativeMethods.DeviceInfo), "vg_device_info" },
        { nameof(NativeMethods.NdTensor), "vg_nd_tensor" },
    };

    [Theory]
    [MemberData(nameof(Structs))]
    public void The_csharp_struct_matches_the_header(string csharpName, string cName)
    {
        var type = typeof(NativeMethods).GetNestedType(csharpName, BindingFlags.Public | BindingFlags.NonPublic)
                   ?? throw new InvalidOperationException($"NativeMethods has no struct {csharpName}");
        var header = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "native", "include", "visualgen_native.h"));
        var (fields, size) = Layout(header, cName);
        var mine = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .OrderBy(f => f.MetadataToken).ToList();
        Assert.True(fields.Count == mine.Count,
            $"{cName} has {fields.Count} fields ({string.Join(", ", fields.Select(f => f.Name))}), {csharpName} has {mine.Count} ({string.Join(", ", mine.Select(f => f.Name))})");
        for (int i = 0; i < fields.Count; i++)
        {
            Assert.Equal(Normalize(fields[i].Name), Normalize(mine[i].Name));
            Assert.True(fields[i].Offset == (long)Marshal.OffsetOf(type, mine[i].Name),
                $"{cName}.{fields[i].Name} is at {fields[i].Offset}, {csharpName}.{mine[i].Name} at {Marshal.OffsetOf(type, mine[i].Name)}");
        }
        Assert.Equal(size, Marshal.SizeOf(type));
    }

    [Fact]
    public void The_gemm_algorithm_blob_size_matches_the_header()
    {
        var header = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "native", "include", "visualgen_native.h"));
        var m = Regex.Match(header, @"#define\s+VG_GEMM_ALGO_BLOB_BYTES\s+(\d+)");
        Assert.True(m.Success, "the header has no VG_GEMM_ALGO_BLOB_BYTES");
        Assert.Equal(NativeMethods.GemmAlgoBlobBytes, int.Parse(m.Groups[1].Value));
    }

    /// <summary>The ctypes mirrors the device scripts use (native/python/visualgen_native.py): a mismatch there costs a
    /// GPU call to find.</summary>
    [Theory]
    [MemberData(nameof(Structs))]
    public void The_python_ctypes_struct_matches_the_header(string className, string cName)
    {
        var python = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "native", "python", "visualgen_native.py"));
        var m = Regex.Match(python, @"class\s+" + className + @"\(C\.Structure\):\s*_fields_\s*=\s*\[(?<body>[^\]]*)\]");
        if (!m.Success)
        {
            Assert.True(className == nameof(NativeMethods.DeviceInfo), $"visualgen_native.py has no ctypes struct {className}");
            return;   // the one struct the scripts do not use
        }
        var mine = new List<(string Name, long Offset)>();
        long offset = 0, align = 1;
        foreach (Match f in Regex.Matches(m.Groups["body"].Value, @"\(""(?<name>\w+)"",\s*C\.(?<type>c_\w+)(?:\s*\*\s*(?<n>\d+))?\)"))
        {
            long elem = f.Groups["type"].Value switch
            {
                "c_char" or "c_uint8" or "c_int8" or "c_byte" or "c_ubyte" => 1,
                "c_int32" or "c_uint32" or "c_int" or "c_float" => 4,
                "c_int64" or "c_uint64" or "c_size_t" or "c_void_p" or "c_double" => 8,
                var t => throw new InvalidOperationException($"{className}: unknown ctypes type {t}"),
            };
            offset = (offset + elem - 1) / elem * elem;
            mine.Add((f.Groups["name"].Value, offset));
            offset += elem * (f.Groups["n"].Success ? long.Parse(f.Groups["n"].Value) : 1);
            align = Math.Max(align, elem);
        }
        var header = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "native", "include", "visualgen_native.h"));
        var (fields, size) = Layout(header, cName);
        Assert.Equal(fields, mine);
        Assert.Equal(size, (offset + align - 1) / align * align);
    }

    [Fact]
    public void The_layout_rules_agree_with_a_hand_computed_struct()
    {
        const string header = "typedef struct vg_t { uint32_t a; int64_t b[2]; const void* c; int32_t d, e; char f[3]; float g; } vg_t;";
        var (fields, size) = Layout(header, "vg_t");
        Assert.Equal([("a", 0L), ("b", 8L), ("c", 24L), ("d", 32L), ("e", 36L), ("f", 40L), ("g", 44L)], fields.Select(f => (f.Name, f.Offset)));
        Assert.Equal(48, size);
    }

    static string Normalize(string name) => name.Replace("_", "").ToLowerInvariant();

    /// <summary>The fields of `typedef struct NAME { ... } NAME;` with their offsets, and the struct's size.</summary>
    static (List<(string Name, long Offset)> Fields, long Size) Layout(string header, string name)
    {
        var text = Comments().Replace(header, " ");
        var defines = Regex.Matches(text, @"#define\s+(?<name>[A-Z_][A-Z0-9_]*)\s+(?<value>\d+)\b")
            .ToDictionary(d => d.Groups["name"].Value, d => long.Parse(d.Groups["value"].Value));
        var m = Regex.Match(text, @"typedef\s+struct\s+" + name + @"\s*\{(?<body>[^{}]*)\}\s*" + name + @"\s*;");
        Assert.True(m.Success, $"the header has no typedef struct {name}");
        var fields = new List<(string, long)>();
        long offset = 0, align = 1;
        foreach (var decl in m.Groups["body"].Value.Split(';').Select(d => d.Trim()).Where(d => d.Length > 0))
        {
            var parts = Regex.Match(decl, @"^(?:const\s+)?(?<type>[A-Za-z_][A-Za-z0-9_]*)\s*(?<rest>.*)$");
            string baseType = parts.Groups["type"].Value;
            foreach (var d in parts.Groups["rest"].Value.Split(','))
            {
                var dm = Regex.Match(d.Trim(), @"^(?<ptr>\*?)\s*(?<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(?<n>\w+)\])?$");
                Assert.True(dm.Success, $"{name}: cannot read the declaration '{decl}'");
                long elem = dm.Groups["ptr"].Value.Length > 0 ? 8 : Scalar(baseType, decl);   // pointers are 8 bytes
                string n = dm.Groups["n"].Value;
                long count = !dm.Groups["n"].Success ? 1 : long.TryParse(n, out long c) ? c
                    : defines.TryGetValue(n, out c) ? c : throw new InvalidOperationException($"{name}: no #define for the array size {n}");
                offset = (offset + elem - 1) / elem * elem;
                fields.Add((dm.Groups["name"].Value, offset));
                offset += elem * count;
                align = Math.Max(align, elem);
            }
        }
        return (fields, (offset + align - 1) / align * align);
    }

    static long Scalar(string type, string decl) => type switch
    {
        "char" or "uint8_t" or "int8_t" => 1,
        "int32_t" or "uint32_t" or "float" or "int" => 4,
        "int64_t" or "uint64_t" or "size_t" or "double" => 8,
        _ when type.StartsWith("vg_", StringComparison.Ordinal) => 4,   // the header's enums
        _ => throw new InvalidOperationException($"unknown C type '{type}' in '{decl}'"),
    };

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex Comments();
}
