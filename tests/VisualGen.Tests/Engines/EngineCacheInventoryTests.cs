using VisualGen.Cli;
using VisualGen.Engines;
using VisualGen.Tests.Support;
using static VisualGen.Tests.Engines.EngineCacheTestSupport;

namespace VisualGen.Tests.Engines;

/// <summary>Listing and pruning an engine cache: entries go by their last load, never while a process has one loaded.</summary>
public sealed class EngineCacheInventoryTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-inventory");
    string Root => Path.Combine(_dir, "cache");

    public void Dispose() => Directory.Delete(_dir, true);

    static readonly DateTime LongAgo = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Builds an entry (adding <paramref name="constant"/>) and unloads it; returns its folder.</summary>
    string Built(float constant, string component = "transformer", EngineBuildOptions? options = null)
    {
        var entry = new EngineCache(Root).GetOrBuild(Request(AddConstantBackend.WriteGraph(_dir, constant), options, component), new AddConstantBackend());
        entry.Engine.Dispose();
        entry.InUse?.Dispose();
        return entry.Directory;
    }

    [Fact]
    public void List_gives_each_entry_with_its_size_and_last_load_newest_first()
    {
        string a = Built(1f), b = Built(2f, "vae.decoder");
        Directory.SetLastWriteTimeUtc(a, LongAgo);
        Directory.SetLastWriteTimeUtc(b, LongAgo.AddDays(1));
        Directory.CreateDirectory(Path.Combine(Root, "broken-0123456789abcdef"));
        Directory.SetLastWriteTimeUtc(Path.Combine(Root, "broken-0123456789abcdef"), LongAgo.AddDays(-1));

        var list = new EngineCacheInventory(new EngineCache(Root)).List();
        Assert.Equal([Path.GetFileName(b), Path.GetFileName(a), "broken-0123456789abcdef"], list.Select(l => l.Folder));
        Assert.Equal(["vae.decoder", "transformer", "broken"], list.Select(l => l.Component));
        Assert.Equal(Directory.GetFiles(a).Sum(f => new FileInfo(f).Length), list[1].Bytes);
        Assert.Equal(LongAgo, list[1].LastUsedUtc);
        Assert.Null(list[1].Problem);
        Assert.Equal("manifest.json is missing", list[2].Problem);

        // a load is a use
        Built(1f);
        Assert.True(Directory.GetLastWriteTimeUtc(a) > DateTime.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public void Prune_removes_entries_unused_for_the_age_and_keeps_those_a_process_has_loaded()
    {
        string old = Built(1f), loadedOld = Built(2f), recent = Built(3f);
        var loaded = new EngineCache(Root).GetOrBuild(Request(AddConstantBackend.WriteGraph(_dir, 2f)), new AddConstantBackend());
        Assert.NotNull(loaded.InUse);
        Directory.SetLastWriteTimeUtc(old, LongAgo);
        Directory.SetLastWriteTimeUtc(loadedOld, LongAgo);
        var inventory = new EngineCacheInventory(new EngineCache(Root));

        var dry = inventory.Prune(TimeSpan.FromDays(30), dryRun: true);
        Assert.Equal([Path.GetFileName(old)], dry.Removed.Select(r => r.Folder));
        Assert.Equal([Path.GetFileName(loadedOld)], dry.InUse.Select(r => r.Folder));
        Assert.True(Directory.Exists(old));

        var pruned = inventory.Prune(TimeSpan.FromDays(30), dryRun: false);
        Assert.Equal([Path.GetFileName(old)], pruned.Removed.Select(r => r.Folder));
        Assert.Equal(dry.FreedBytes, pruned.FreedBytes);
        Assert.True(pruned.FreedBytes > 0);
        Assert.False(Directory.Exists(old));
        Assert.True(Directory.Exists(loadedOld));
        Assert.True(Directory.Exists(recent));
        Assert.Equal([3f], Run(loaded.Engine, 1f));

        // unloaded, it goes; the next run that needs it builds it again
        loaded.Engine.Dispose();
        loaded.InUse!.Dispose();
        Directory.SetLastWriteTimeUtc(loadedOld, LongAgo);
        Assert.Equal([Path.GetFileName(loadedOld)], inventory.Prune(TimeSpan.FromDays(30), dryRun: false).Removed.Select(r => r.Folder));
        var backend = new AddConstantBackend();
        using (var again = new EngineCache(Root).GetOrBuild(Request(AddConstantBackend.WriteGraph(_dir, 2f)), backend).Engine)
            Assert.Equal([3f], Run(again, 1f));
        Assert.Equal(1, backend.BuildCount);
        Assert.Empty(Leftovers(Root));
    }

    [Fact]
    public void Prune_counts_the_folders_interrupted_builds_left_and_a_dry_run_keeps_them()
    {
        string entry = Built(1f);
        string folder = Path.GetFileName(entry);
        string temp = Path.Combine(Root, $".tmp-{folder}-4242-{Guid.NewGuid():N}"), trash = Path.Combine(Root, $".trash-{folder}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        Directory.CreateDirectory(trash);
        var inventory = new EngineCacheInventory(new EngineCache(Root));

        var dry = inventory.Prune(TimeSpan.FromDays(30), dryRun: true);
        Assert.Equal(2, dry.LeftoversRemoved);
        Assert.True(Directory.Exists(temp) && Directory.Exists(trash));

        var pruned = inventory.Prune(TimeSpan.FromDays(30), dryRun: false);
        Assert.Equal(2, pruned.LeftoversRemoved);
        Assert.Empty(Leftovers(Root));
        Assert.True(Directory.Exists(entry));   // used recently: kept
        Assert.Equal(0, inventory.Prune(TimeSpan.FromDays(30), dryRun: false).LeftoversRemoved);
    }

    [Fact]
    public void A_cache_whose_locks_cannot_be_taken_is_dry_run_without_the_in_use_check_and_not_pruned()
    {
        // a read-only cache: the dry run failed with the build's lock error ("a missing one cannot be built there");
        // a regular file in place of .locks stands for it as root, which may write anywhere
        string entry = Built(1f);
        Directory.SetLastWriteTimeUtc(entry, LongAgo);
        if (Directory.Exists(Path.Combine(Root, ".locks"))) Directory.Delete(Path.Combine(Root, ".locks"), recursive: true);
        File.WriteAllText(Path.Combine(Root, ".locks"), "not a folder");
        var inventory = new EngineCacheInventory(new EngineCache(Root));

        var dry = inventory.Prune(TimeSpan.FromDays(1), dryRun: true);
        Assert.Equal([Path.GetFileName(entry)], dry.Removed.Select(r => r.Folder));
        Assert.True(dry.InUseUnchecked);
        var e = Assert.Throws<EngineException>(() => inventory.Prune(TimeSpan.FromDays(1), dryRun: false));
        Assert.Contains($"cannot prune the engine cache {Root}: the lock of {Path.GetFileName(entry)} cannot be taken", e.Message);
        Assert.Contains("a read-only cache cannot be pruned", e.Message);
        Assert.True(Directory.Exists(entry));
    }

    [Fact]
    public void Folders_not_named_as_entries_are_never_listed_nor_pruned()
    {
        // a mistyped --cache pointing at a folder of other things
        string entry = Built(1f);
        foreach (var other in new[] { "docs", "photos", "transformer-0123", "Transformer-0123456789ABCDEF" })
        {
            Directory.CreateDirectory(Path.Combine(Root, other));
            File.WriteAllText(Path.Combine(Root, other, "a.txt"), "keep me");
            Directory.SetLastWriteTimeUtc(Path.Combine(Root, other), LongAgo);
        }
        Directory.SetLastWriteTimeUtc(entry, LongAgo);
        var inventory = new EngineCacheInventory(new EngineCache(Root));
        Assert.Equal([Path.GetFileName(entry)], inventory.List().Select(l => l.Folder));
        Assert.Equal([Path.GetFileName(entry)], inventory.Prune(TimeSpan.FromDays(1), dryRun: false).Removed.Select(r => r.Folder));
        foreach (var other in new[] { "docs", "photos", "transformer-0123", "Transformer-0123456789ABCDEF" })
            Assert.Equal("keep me", File.ReadAllText(Path.Combine(Root, other, "a.txt")));
    }

    [Fact]
    public async Task A_prune_holding_an_entry_makes_a_load_wait_then_build_it_again()
    {
        // the loader takes the use lock before it checks the entry: it cannot load a folder a prune is removing
        string entry = Built(1f);
        var cache = new EngineCache(Root);
        var exclusive = new FileStream(Path.Combine(Root, ".locks", Path.GetFileName(entry) + ".use"), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var backend = new AddConstantBackend();
        var load = Task.Run(() => cache.GetOrBuild(Request(AddConstantBackend.WriteGraph(_dir, 1f)), backend));
        await Task.Delay(300);
        Assert.False(load.IsCompleted);
        Directory.Delete(entry, recursive: true);   // what the prune does while it holds the lock
        exclusive.Dispose();
        var loaded = await load;
        using (loaded.Engine) Assert.Equal([2f], Run(loaded.Engine, 1f));
        Assert.Equal(1, backend.BuildCount);
    }

    [Fact]
    public void Cache_command_lists_and_prunes()
    {
        string old = Built(1f);
        Built(2f, "vae.decoder");
        Directory.SetLastWriteTimeUtc(old, LongAgo);

        var list = new StringWriter();
        Assert.Equal(0, CliApp.Run(["cache", "list", "--cache", Root], list, new StringWriter()));
        var lines = list.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"engine cache {Root}: 2 entries, ", lines[0]);
        Assert.Matches(@"^  2026-01-01 00:00 +\d+(\.\d)? (B|KiB)  test-add +fp32 +transformer +transformer-[0-9a-f]{16}$", lines[^1]);

        var prune = new StringWriter();
        Assert.Equal(0, CliApp.Run(["cache", "prune", "--cache", Root, "--unused-for", "30d"], prune, new StringWriter()));
        Assert.Contains($"removed {Path.GetFileName(old)} (", prune.ToString());
        Assert.Contains("removed 1 entry (", prune.ToString());
        Assert.False(Directory.Exists(old));

        var err = new StringWriter();
        Assert.Equal(ExitCode.Usage, CliApp.Run(["cache", "prune", "--cache", Root], new StringWriter(), err));
        Assert.Contains("cache prune needs --unused-for AGE", err.ToString());
        Assert.Equal(ExitCode.Usage, CliApp.Run(["cache", "tidy"], new StringWriter(), err));
        Assert.Contains("cache takes list or prune, got 'tidy'", err.ToString());
    }

    [Fact]
    public void Cache_list_keeps_its_columns_aligned_when_a_precision_is_wide()
    {
        // a quantized entry's precision ("fp32 FP8_BLOCK_SCALES;ignore=") overflowed its column and pushed the rest of its row
        Built(1f);
        Built(2f, options: new EngineBuildOptions { Quantization = "FP8_BLOCK_SCALES;ignore=" });
        var list = new StringWriter();
        Assert.Equal(0, CliApp.Run(["cache", "list", "--cache", Root], list, new StringWriter()));
        var lines = list.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(3, lines.Length);
        Assert.Contains(lines, l => l.Contains(" fp32 FP8_BLOCK_SCALES;ignore= "));
        Assert.Single(lines[1..].Select(l => l.IndexOf(" transformer ", StringComparison.Ordinal)).Append(lines[0].IndexOf(" component ", StringComparison.Ordinal)).Distinct());
    }

    [Fact]
    public void Cache_command_names_a_missing_folder_and_refuses_a_file()
    {
        string missing = Path.Combine(Root, "not-built-yet");
        var list = new StringWriter();
        Assert.Equal(0, CliApp.Run(["cache", "list", "--cache", missing], list, new StringWriter()));
        Assert.Equal($"engine cache {missing}: no such folder (0 entries; the first build creates it)", list.ToString().Trim());
        Directory.CreateDirectory(Root);
        string file = Path.Combine(Root, "a-file");
        File.WriteAllText(file, "not a cache");
        foreach (var command in new[] { "list", "prune" })
        {
            var err = new StringWriter();
            Assert.Equal(ExitCode.Failure, CliApp.Run(["cache", command, "--cache", file, "--unused-for", "1d"], new StringWriter(), err));
            Assert.Equal($"error: engine cache {file}: is a file, not a folder (--engine-cache names a folder)", err.ToString().Trim());
        }
    }
}
