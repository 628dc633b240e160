namespace U2A.Core.Unlearning;

/// <summary>Which log-probabilities NPO compares with the reference's.</summary>
public enum NpoForm
{
    /// <summary>Summed response log-probs: <c>-(2/beta) log sigmoid(-beta (lp_theta - lp_ref))</c> (the NPO paper, open-unlearning).</summary>
    SummedLogProbs,

    /// <summary>Token-mean NLL: <c>-(2/beta) log sigmoid(beta (nll_mean_theta - nll_mean_ref))</c> (the U2A reference code).</summary>
    TokenMeanNll,
}
