using System.Globalization;

namespace U2A.Testing;

/// <summary>The result of a <see cref="HypergradientCheck"/>: predicted against measured changes of J per probed example and for the pool.</summary>
public sealed class HypergradientCheckReport
{
    internal HypergradientCheckReport(string estimator, double objective, IReadOnlyList<HypergradientProbe> probes, double poolPredicted, double poolMeasured,
        HypergradientCheckOptions options)
    {
        Estimator = estimator;
        Objective = objective;
        Probes = probes;
        PoolPredicted = poolPredicted;
        PoolMeasured = poolMeasured;
        Options = options;
        SignAgreement = probes.Count(p => p.SignsAgree) / (double)probes.Count;
        Correlation = Autograd.Correlation(probes.Select(p => p.Predicted).ToArray(), probes.Select(p => p.Measured).ToArray());
        double scale = probes.Max(p => Math.Abs(p.Measured));
        RelativeError = scale > 0 ? probes.Max(p => Math.Abs(p.Predicted - p.Measured)) / scale : double.PositiveInfinity;
    }

    /// <summary>The estimator's name.</summary>
    public string Estimator { get; }

    /// <summary>J at the parameters the check started from.</summary>
    public double Objective { get; }

    /// <summary>The probed examples.</summary>
    public IReadOnlyList<HypergradientProbe> Probes { get; }

    /// <summary>Predicted change of J for a step on the weighted sum of the probed examples' losses: <c>-eta sum_i w_i s_i</c>.</summary>
    public double PoolPredicted { get; }

    /// <summary>Measured change of J after that step: <c>J(theta - eta sum_i w_i grad l_i) - J(theta)</c>.</summary>
    public double PoolMeasured { get; }

    /// <summary>The options the check ran with.</summary>
    public HypergradientCheckOptions Options { get; }

    /// <summary>The fraction of probes whose predicted and measured changes have the same sign.</summary>
    public double SignAgreement { get; }

    /// <summary>The Pearson correlation of predicted and measured changes over the probes; NaN when either is constant or there is one probe.</summary>
    public double Correlation { get; }

    /// <summary><c>max_i |predicted_i - measured_i| / max_i |measured_i|</c>.</summary>
    public double RelativeError { get; }

    /// <summary>Why the check fails (empty when it passes).</summary>
    public IReadOnlyList<string> Failures
    {
        get
        {
            var c = CultureInfo.InvariantCulture;
            var failures = new List<string>();
            if (SignAgreement < Options.MinimumSignAgreement)
                failures.Add($"sign agreement {SignAgreement.ToString("P0", c)} is below {Options.MinimumSignAgreement.ToString("P0", c)} (disagreeing examples: " +
                    string.Join(", ", Probes.Where(p => !p.SignsAgree).Select(p => p.Example)) + ")");
            if (Probes.Count >= 3 && !(Correlation >= Options.MinimumCorrelation))
                failures.Add($"correlation {Correlation.ToString("F3", c)} is below {Options.MinimumCorrelation.ToString("F3", c)}");
            if (Options.MaxRelativeError is { } e && !(RelativeError <= e))
                failures.Add($"relative error {RelativeError.ToString("G3", c)} is above {e.ToString("G3", c)}");
            if (Options.RequirePoolSignAgreement && Math.Sign(PoolPredicted) != Math.Sign(PoolMeasured))
                failures.Add($"the pool step's predicted change {PoolPredicted.ToString("G4", c)} and measured change {PoolMeasured.ToString("G4", c)} differ in sign");
            return failures;
        }
    }

    /// <summary>Whether every criterion of the options holds.</summary>
    public bool Passed => Failures.Count == 0;

    /// <summary>Throws <see cref="U2ACheckException"/> with <see cref="ToString"/> as its message unless <see cref="Passed"/>.</summary>
    public void ThrowIfFailed()
    {
        if (!Passed) throw new U2ACheckException(ToString());
    }

    /// <summary>The verdict, the failures, the statistics and every probe (predicted against measured).</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var text = $"HypergradientCheck ({Estimator}, step {Options.StepSize.ToString("G3", c)}) {(Passed ? "passed" : "FAILED")}";
        if (!Passed) text += ": " + string.Join("; ", Failures);
        text += $"\n  J = {Objective.ToString("G6", c)}; sign agreement {SignAgreement.ToString("P0", c)}, correlation {Correlation.ToString("F3", c)}, " +
            $"relative error {RelativeError.ToString("G3", c)}; pool step predicted {PoolPredicted.ToString("G4", c)}, measured {PoolMeasured.ToString("G4", c)}";
        foreach (var p in Probes)
            text += $"\n  example {p.Example}: score {p.Score.ToString("G4", c)}, predicted dJ {p.Predicted.ToString("G4", c)}, measured dJ {p.Measured.ToString("G4", c)}";
        return text;
    }
}
