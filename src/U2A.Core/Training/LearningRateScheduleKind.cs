namespace U2A.Core.Training;

/// <summary>The shapes of learning-rate schedule after warm-up.</summary>
public enum LearningRateScheduleKind
{
    /// <summary>Linear warm-up, then the base rate.</summary>
    Constant,
    /// <summary>Linear warm-up, then linear decay to 0 at the last step (Hugging Face <c>linear</c>).</summary>
    Linear,
    /// <summary>Linear warm-up, then half a cosine down to <see cref="LearningRateSchedule.MinLearningRateRatio"/> (Hugging Face <c>cosine</c>).</summary>
    Cosine,
}
