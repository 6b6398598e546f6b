namespace VisualGen.Pipelines.Cosmos3;

/// <summary>
/// The 3-D mRoPE positions (temporal, height, width) of Cosmos3's joint sequence, as diffusers'
/// get_3d_mrope_ids_text_tokens / get_3d_mrope_ids_vae_tokens compute them: text tokens at 0, 1, … on all three axes;
/// vision patches after a temporal margin, at (frame time, row, column). With fps modulation (and more than one latent
/// frame) a latent frame's time is frame / (fps / tcf) · (base_fps / tcf) + offset, in float32 as torch computes it.
/// </summary>
public static class Cosmos3Positions
{
    /// <summary>Positions [3, textLength + frames·rows·columns], row-major, and the float32 values diffusers passes.</summary>
    public static float[] Joint(Cosmos3ModelConfig c, int textLength, int frames, int rows, int columns, double fps)
    {
        long vision = (long)frames * rows * columns;
        long n = textLength + vision;
        var ids = new float[3 * n];
        for (int i = 0; i < textLength; i++)
            for (int a = 0; a < 3; a++) ids[a * n + i] = i;

        long offset = textLength + c.TemporalModalityMargin;   // vision_start_temporal_offset
        bool modulate = c.EnableFpsModulation && frames > 1;
        float tps = (float)(fps / c.VaeScaleTemporal), baseTps = (float)(c.BaseFps / c.VaeScaleTemporal);
        long spatialOffset = c.ResetSpatialIds ? 0 : offset;
        long k = textLength;
        for (int f = 0; f < frames; f++)
        {
            float time = modulate ? (float)f / tps * baseTps + offset : f + offset;
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < columns; x++, k++)
                {
                    ids[k] = time;
                    ids[n + k] = y + spatialOffset;
                    ids[2 * n + k] = x + spatialOffset;
                }
        }
        return ids;
    }
}
