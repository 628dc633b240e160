namespace U2A.Core.Alignment;

/// <summary>The DPO loss variants.</summary>
public enum DpoLossType
{
    /// <summary>DPO: <c>-log sigmoid(beta * h)</c>.</summary>
    Sigmoid,
    /// <summary>IPO: <c>(h - 1/(2 beta))^2</c>.</summary>
    Ipo,
    /// <summary>Hinge (SLiC): <c>max(0, 1 - beta * h)</c>.</summary>
    Hinge,
}
