namespace U2A.Core;

/// <summary>
/// The library's one idiom for validating options and arguments: each check names the field (<c>Type.Field</c>) and
/// the value it got, and throws <see cref="ArgumentOutOfRangeException"/> (a value out of range) or
/// <see cref="ArgumentException"/> (a missing or inconsistent value), with the field as <c>ParamName</c>.
/// </summary>
internal static class Require
{
    /// <summary>A positive, finite number.</summary>
    public static void Positive(double value, string field)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be a positive finite number, got {value}.");
    }

    /// <summary>A non-negative, finite number.</summary>
    public static void NonNegative(double value, string field)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be a non-negative finite number, got {value}.");
    }

    /// <summary>A finite number.</summary>
    public static void Finite(double value, string field)
    {
        if (!double.IsFinite(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be a finite number, got {value}.");
    }

    /// <summary>An integer of at least <paramref name="minimum"/>.</summary>
    public static void AtLeast(long value, long minimum, string field)
    {
        if (value < minimum)
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be at least {minimum}, got {value}.");
    }

    /// <summary>An integer of at least 1.</summary>
    public static void AtLeastOne(long value, string field) => AtLeast(value, 1, field);

    /// <summary>A number in <c>[min, max]</c>.</summary>
    public static void InRange(double value, double min, double max, string field)
    {
        if (!(value >= min && value <= max))
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be in [{min}, {max}], got {value}.");
    }

    /// <summary>A defined member of an enum.</summary>
    public static void Defined<TEnum>(TEnum value, string field) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} has no value {value}.");
    }

    /// <summary>A non-null value; returns it.</summary>
    public static T NotNull<T>(T? value, string field) where T : class =>
        value ?? throw new ArgumentException($"{field} must be set, got null.", field);

    /// <summary>Any other rule: <paramref name="rule"/> completes "field ... , got value".</summary>
    public static void That(bool ok, string field, object? value, string rule)
    {
        if (!ok) throw new ArgumentException($"{field} {rule}, got {value ?? "null"}.", field);
    }
}
