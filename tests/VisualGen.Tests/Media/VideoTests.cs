using System.Text.Json;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Media;

public class VideoTests
{
    static float[] Frames(int frames, int h, int w)
    {
        var data = new float[frames * h * w * 3];
        for (int i = 0; i < data.Length; i++) data[i] = (i * 37 % 101) / 100f;
        return data;
    }

    static JsonElement Probe(string path)
    {
        var json = FfmpegTool.Run("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=codec_name,pix_fmt,width,height,nb_read_frames,r_frame_rate", "-of", "json", path);
        return JsonDocument.Parse(json).RootElement.GetProperty("streams")[0];
    }

    [FfmpegFact]
    public void Mp4HasEveryFrameAndEvenSize()
    {
        var dir = Fixtures.TempDir("mp4");
        try
        {
            var result = new GenerationResult(HostTensor.Zeros(1), HostTensor.Float32(Frames(9, 17, 33), 1, 9, 17, 33, 3), true, 16);
            var path = Path.Combine(dir, "clip.mp4");
            Assert.Equal([path], MediaWriter.Save(result, path, MediaFormat.Mp4));
            var s = Probe(path);
            Assert.Equal("h264", s.GetProperty("codec_name").GetString());
            Assert.Equal("yuv420p", s.GetProperty("pix_fmt").GetString());
            Assert.Equal("9", s.GetProperty("nb_read_frames").GetString());
            Assert.Equal(34, s.GetProperty("width").GetInt32());   // odd sizes padded by one edge column/row
            Assert.Equal(18, s.GetProperty("height").GetInt32());
            Assert.Equal("16/1", s.GetProperty("r_frame_rate").GetString());
            Assert.Empty(Directory.GetFiles(dir, ".*"));   // no temporary file left
        }
        finally { Directory.Delete(dir, true); }
    }

    [FfmpegFact]
    public void A_fractional_frame_rate_is_the_mp4_s_rate_not_a_rounded_one()
    {
        // LTX-2's frame_rate and Cosmos3's fps may be 12.5 or 29.97: the model made the video (and LTX-2 its
        // soundtrack) for that rate, so the MP4 plays at it (it was rounded to 12 and 30, 0.5 to 1)
        var dir = Fixtures.TempDir("mp4");
        try
        {
            foreach (var (fps, rate) in new[] { (12.5, "25/2"), (29.97, "2997/100"), (0.5, "1/2") })
            {
                var result = new GenerationResult(HostTensor.Zeros(1), HostTensor.Float32(Frames(5, 8, 8), 1, 5, 8, 8, 3), true, fps);
                var path = Path.Combine(dir, $"clip{fps}.mp4");
                MediaWriter.Save(result, path, MediaFormat.Mp4);
                Assert.Equal(rate, Probe(path).GetProperty("r_frame_rate").GetString());
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void MissingFfmpegSaysHowToInstallItAndTheAlternative()
    {
        var dir = Fixtures.TempDir("mp4");
        try
        {
            var writer = new MediaWriter(new Mp4Writer(searchPath: ""));
            var result = new GenerationResult(HostTensor.Zeros(1), HostTensor.Float32(Frames(2, 4, 4), 1, 2, 4, 4, 3), true, 16);
            var e = Assert.Throws<MediaException>(() => writer.Write(result, Path.Combine(dir, "v.mp4"), MediaFormat.Mp4));
            Assert.Contains("ffmpeg was not found", e.Message);
            Assert.Contains("apt-get install ffmpeg", e.Message);
            Assert.Contains("--format png", e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void PngFormatWritesAFrameFolder()
    {
        var dir = Fixtures.TempDir("frames");
        try
        {
            var data = Frames(3, 5, 6);
            var result = new GenerationResult(HostTensor.Zeros(1), HostTensor.Float32(data, 1, 3, 5, 6, 3), true, 16);
            var written = MediaWriter.Save(result, Path.Combine(dir, "clip.mp4"), MediaFormat.Png);
            Assert.Equal([Path.Combine(dir, "clip")], written);
            Assert.Equal(["frame_0000.png", "frame_0001.png", "frame_0002.png"],
                Directory.GetFiles(written[0]).Select(p => Path.GetFileName(p)).Order().ToArray());
            var f1 = PngReader.Read(Path.Combine(written[0], "frame_0001.png"));
            Assert.Equal(RgbImage.FromFloat(data.AsSpan(90, 90), 5, 6).Pixels, f1.Pixels);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_shorter_video_replaces_the_folder_s_frames_and_a_folder_of_other_files_is_refused()
    {
        var dir = Fixtures.TempDir("frames");
        try
        {
            GenerationResult Video(int frames) =>
                new(HostTensor.Zeros(1), HostTensor.Float32(Frames(frames, 5, 6), 1, frames, 5, 6, 3), true, 16);
            string clip = Path.Combine(dir, "clip.png");
            MediaWriter.Save(Video(4), clip, MediaFormat.Png);
            MediaWriter.Save(Video(2), clip, MediaFormat.Png);
            // exactly the second video's frames: none of the first one's left behind, no staging folder beside it
            Assert.Equal(["frame_0000.png", "frame_0001.png"], Directory.GetFiles(Path.Combine(dir, "clip")).Select(p => Path.GetFileName(p)).Order().ToArray());
            Assert.Equal(["clip"], Directory.GetFileSystemEntries(dir).Select(p => Path.GetFileName(p)).ToArray());

            string model = Path.Combine(dir, "model");
            Directory.CreateDirectory(model);
            File.WriteAllText(Path.Combine(model, "model_index.json"), "{}");
            var writer = new MediaWriter();
            var early = Assert.Throws<MediaException>(() => writer.CheckTarget(model + ".png", MediaFormat.Png, isVideo: true));
            Assert.Contains("exists and holds 'model_index.json', which is not a PNG frame", early.Message);
            Assert.Throws<MediaException>(() => MediaWriter.Save(Video(1), model + ".png", MediaFormat.Png));
            Assert.Equal(["model_index.json"], Directory.GetFileSystemEntries(model).Select(p => Path.GetFileName(p)).ToArray());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ImageBatchIsNumbered()
    {
        var dir = Fixtures.TempDir("img");
        try
        {
            var data = Frames(2, 4, 3);
            var result = new GenerationResult(HostTensor.Zeros(1), HostTensor.Float32(data, 2, 4, 3, 3), false, 0);
            var written = MediaWriter.Save(result, Path.Combine(dir, "out.png"), MediaFormat.Png);
            Assert.Equal([Path.Combine(dir, "out_0.png"), Path.Combine(dir, "out_1.png")], written);
            for (int b = 0; b < 2; b++)
            {
                var expected = data.Skip(b * 36).Take(36).Select(v => (byte)Math.Round((double)(v * 255f), MidpointRounding.ToEven)).ToArray();
                Assert.Equal(expected, PngReader.Read(written[b]).Pixels);
            }
            Assert.Throws<MediaException>(() => MediaWriter.Save(result, Path.Combine(dir, "x.mp4"), MediaFormat.Mp4));
        }
        finally { Directory.Delete(dir, true); }
    }
}
