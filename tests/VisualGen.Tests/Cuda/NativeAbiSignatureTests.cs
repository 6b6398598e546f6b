using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>
/// Every P/Invoke declaration of the native library (<c>NativeMethods</c>) against its C prototype in the header: the
/// same number of parameters, each passed in the same way under the LP64 calling conventions (a pointer or handle,
/// a 64-bit integer, a 32-bit integer or enum, a float, a double), and the same kind of result. A parameter added,
/// dropped or widened on one side only fails here on any machine; on the GPU it would pass garbage silently.
/// </summary>
public partial class NativeAbiSignatureTests
{
    [GeneratedRegex(@"VG_API\s+([\w\s\*]+?)\s*\b(vg_\w+)\s*\(([^)]*)\)\s*;", RegexOptions.Singleline)]
    private static partial Regex Prototype();

    [GeneratedRegex(@"typedef\s+struct\s+\w+\s*\*\s*(\w+)\s*;")]
    private static partial Regex HandleTypedef();

    [GeneratedRegex(@"typedef\s+enum\s+\w+\s*\{[^}]*\}\s*(\w+)\s*;", RegexOptions.Singleline)]
    private static partial Regex EnumTypedef();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();

    static string Header() => File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "native", "include", "visualgen_native.h"));

    /// <summary>How a C type travels: "ptr", "i64", "i32", "f32", "f64", "size" (size_t) or "void".</summary>
    static string CKind(string type, ISet<string> handles, ISet<string> enums)
    {
        string t = Regex.Replace(type.Replace("const", " "), @"\s+", " ").Trim();
        if (t.Contains('*') || handles.Contains(t)) return "ptr";
        if (enums.Contains(t)) return "i32";
        return t switch
        {
            "int64_t" or "uint64_t" => "i64",
            "int32_t" or "uint32_t" or "int" => "i32",
            "float" => "f32",
            "double" => "f64",
            "size_t" => "size",
            "void" => "void",
            _ => throw new InvalidOperationException($"the test does not know how C type '{t}' travels"),
        };
    }

    static string CsKind(Type t)
    {
        if (t.IsByRef || t.IsPointer || t == typeof(IntPtr)) return "ptr";
        if (t == typeof(UIntPtr)) return "size";
        if (t == typeof(long) || t == typeof(ulong)) return "i64";
        if (t == typeof(int) || t == typeof(uint)) return "i32";
        if (t == typeof(float)) return "f32";
        if (t == typeof(double)) return "f64";
        if (t == typeof(void)) return "void";
        throw new InvalidOperationException($"the test does not know how C# type {t} travels");
    }

    static Dictionary<string, (string Result, List<string> Params)> Prototypes()
    {
        string header = Comment().Replace(Header(), " ");
        var handles = HandleTypedef().Matches(header).Select(m => m.Groups[1].Value).ToHashSet();
        var enums = EnumTypedef().Matches(header).Select(m => m.Groups[1].Value).ToHashSet();
        var result = new Dictionary<string, (string, List<string>)>(StringComparer.Ordinal);
        foreach (Match m in Prototype().Matches(header))
        {
            string args = m.Groups[3].Value.Trim();
            var kinds = args is "" or "void" ? [] : args.Split(',').Select(a =>
            {
                string p = a.Trim();
                // drop the parameter's name (the last identifier), keep its type
                string type = Regex.Replace(p, @"\b\w+\s*$", "");
                return CKind(type, handles, enums);
            }).ToList();
            result[m.Groups[2].Value] = (CKind(m.Groups[1].Value, handles, enums), kinds);
        }
        return result;
    }

    static IEnumerable<MethodInfo> Imports() => typeof(NativeMethods).Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
        .Where(m => m.GetCustomAttribute<DllImportAttribute>() is { } d && d.Value == NativeMethods.Library);

    /// <summary>The ctypes binding the GPU checks and benchmarks use (native/python/visualgen_native.py) declares each
    /// function's argument types in one table; a wrong entry there would make every check of that kernel meaningless.</summary>
    [Fact]
    public void The_python_binding_matches_the_prototypes()
    {
        var protos = Prototypes();
        string py = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "native", "python", "visualgen_native.py"));
        var entries = Regex.Matches(py, "\"(vg_\\w+)\":\\s*\\[([^\\]]*)\\]", RegexOptions.Singleline);
        Assert.True(entries.Count > 50, $"{entries.Count} ctypes signatures found");
        var problems = new List<string>();
        foreach (Match e in entries)
        {
            string name = e.Groups[1].Value, args = e.Groups[2].Value.Trim();
            if (!protos.TryGetValue(name, out var proto)) { problems.Add($"{name}: not declared in visualgen_native.h"); continue; }
            var kinds = args == "" ? [] : Regex.Split(args, @",\s*(?![^()]*\))").Select(a => a.Trim() switch
            {
                "vp" => "ptr",
                "i32" => "i32",
                "i64" => "i64",
                "f32" => "f32",
                "sz" => "size",
                var t when t.StartsWith("C.POINTER(", StringComparison.Ordinal) => "ptr",
                var t => $"unknown ctypes type '{t}'",
            }).ToList();
            if (!kinds.SequenceEqual(proto.Params))
                problems.Add($"{name}: python ({string.Join(", ", kinds)}), header ({string.Join(", ", proto.Params)})");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_header_is_read_whole()
    {
        var protos = Prototypes();
        // every exported function the header declares is found (a prototype the pattern missed would go unchecked)
        int declared = Regex.Matches(Comment().Replace(Header(), " "), @"^VG_API\b", RegexOptions.Multiline).Count;
        Assert.Equal(declared, protos.Count);
        Assert.Equal("i32", protos["vg_fp8_gemm_plan_tune"].Result);
        Assert.Equal(["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "size", "i32", "i32", "ptr", "ptr", "ptr"], protos["vg_fp8_gemm_plan_tune"].Params);
        Assert.Equal(["i64", "i64"], protos["vg_nvfp4_tiled_scale_bytes"].Params);
        Assert.Equal("ptr", protos["vg_last_error"].Result);
        Assert.Empty(protos["vg_last_error"].Params);
    }

    [Fact]
    public void Every_pinvoke_matches_its_prototype()
    {
        var protos = Prototypes();
        var imports = Imports().ToList();
        Assert.True(imports.Count > 50, $"{imports.Count} P/Invoke declarations found");
        var problems = new List<string>();
        foreach (var m in imports)
        {
            string name = m.GetCustomAttribute<DllImportAttribute>()!.EntryPoint ?? m.Name;
            if (!protos.TryGetValue(name, out var proto)) { problems.Add($"{name}: not declared in visualgen_native.h"); continue; }
            var cs = m.GetParameters().Select(p => CsKind(p.ParameterType)).ToList();
            string result = CsKind(m.ReturnType);
            if (!cs.SequenceEqual(proto.Params) || result != proto.Result)
                problems.Add($"{name}: C# ({string.Join(", ", cs)}) -> {result}, header ({string.Join(", ", proto.Params)}) -> {proto.Result}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
