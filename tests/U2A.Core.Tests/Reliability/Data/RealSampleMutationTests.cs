using System.Text;
using U2A.Core.Data;
using U2A.Core.Tests.Data;
using Xunit.Abstractions;

namespace U2A.Core.Tests.Reliability.Data;

/// <summary>
/// Seeded mutations of the real samples (HH-RLHF first 50 lines, PKU-SafeRLHF, AdvBench) and of a hand-written
/// UltraFeedback file: bit flips, bytes set to structural or non-UTF-8 values, truncation, deleted, duplicated and
/// inserted runs. For each mutant: its reader (and on every fourth JSONL mutant, each other JSONL reader) returns records or throws
/// <see cref="DatasetFormatException"/>, nothing else; its own reader behaves the same under both policies (Fail throws
/// exactly the first error Skip counts); under Skip every JSONL line is a record or a skip, and a line left unchanged
/// reads as it did before; no text read holds U+FFFD or a lone surrogate.
/// </summary>
public class RealSampleMutationTests(ITestOutputHelper output)
{
    private const int MutantsPerSample = 100;

    private static readonly DatasetReadOptions Skip = new() { BadRecords = BadRecordPolicy.Skip };

    private static readonly byte[] Interesting = [0x00, 0x0A, 0x0D, 0x22, 0x5C, 0x2C, 0x7B, 0x7D, 0x5B, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xFF];

    [SkippableFact]
    public void Mutated_samples_read_or_fail_with_DatasetFormatException_the_same_way_under_both_policies()
    {
        RealData.RequireShared();
        var hh = File.ReadAllBytes(RealData.HhRlhf);
        int cut = 0;
        for (int lines = 0; lines < 50; cut++) if (hh[cut] == (byte)'\n') lines++;
        var uf = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 20).Select(i => ReaderUnderTest.UltraFeedback.Good(i) + "\n")));
        var samples = new (string Name, ReaderUnderTest Reader, byte[] Bytes)[]
        {
            ("hh_rlhf first 50 lines", ReaderUnderTest.HhRlhf, hh[..cut]),
            ("pku_saferlhf", ReaderUnderTest.Pku, File.ReadAllBytes(RealData.Pku)),
            ("advbench", ReaderUnderTest.AdvBench, File.ReadAllBytes(RealData.AdvBench)),
            ("ultrafeedback (hand-written)", ReaderUnderTest.UltraFeedback, uf),
        };

        var failures = new List<string>();
        int mutants = 0, read = 0, failed = 0, otherReads = 0, unchanged = 0, skipsChecked = 0;
        for (int sample = 0; sample < samples.Length; sample++)
        {
            var (name, reader, original) = samples[sample];
            var baseline = reader.ReadBytes(original, name, Skip);
            Assert.DoesNotContain(baseline.Texts, TextChecks.IsSuspect);
            var originalLines = SplitLines(original);
            var firstIndex = new Dictionary<string, int>();
            for (int i = 0; i < originalLines.Count; i++) firstIndex.TryAdd(originalLines[i], i);
            var baselineAt = baseline.Lines.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
            var rng = new Random(1000 + sample);
            for (int m = 0; m < MutantsPerSample; m++)
            {
                var (mutant, how) = Mutate(original, rng);
                string label = $"{name} mutant {m} ({how})";
                var path = $"{name} mutant {m}{reader.Extension}";
                mutants++;

                ReadOutcome? fail = null;
                DatasetFormatException? failEx = null;
                try { fail = reader.ReadBytes(mutant, path, DatasetReadOptions.Default); read++; }
                catch (DatasetFormatException e) { failEx = e; failed++; }
                catch (Exception e) { failures.Add($"{label}: Fail threw {e.GetType().Name}: {e.Message}"); continue; }

                ReadOutcome skip;
                try { skip = reader.ReadBytes(mutant, path, Skip); }
                catch (DatasetFormatException e)
                {
                    // Only a whole-file error fails under Skip, and then Fail met it first.
                    if (failEx?.Message != e.Message) failures.Add($"{label}: Skip threw '{e.Message}', Fail said '{failEx?.Message}'");
                    continue;
                }
                catch (Exception e) { failures.Add($"{label}: Skip threw {e.GetType().Name}: {e.Message}"); continue; }

                if (fail is not null && (skip.Skipped.Count != 0 || !skip.SameAs(fail)))
                    failures.Add($"{label}: Fail read the file but Skip differs ({skip.Skipped.Count} skips)");
                if (failEx is not null && (skip.Skipped.Count == 0 || skip.Skipped[0].Message != failEx.Message))
                    failures.Add($"{label}: Fail said '{failEx.Message}', Skip's first skip is '{skip.Skipped.FirstOrDefault()?.Message}'");
                skipsChecked += skip.Skipped.Count;
                if (skip.Texts.Any(TextChecks.IsSuspect)) failures.Add($"{label}: a text holds U+FFFD or a lone surrogate");
                if (skip.Skipped.Any(s => s.File != path)) failures.Add($"{label}: a skip names another file");

                var lines = SplitLines(mutant);
                var all = skip.Lines.Concat(skip.Skipped.Select(s => s.Line)).Order().ToArray();
                if (!reader.IsCsv && !all.SequenceEqual(Enumerable.Range(1, lines.Count)))
                    failures.Add($"{label}: {skip.Lines.Count} records + {skip.Skipped.Count} skips do not cover the {lines.Count} lines once each");
                if (reader.IsCsv && (all.Distinct().Count() != all.Length || all.Any(l => l < 2 || l > lines.Count)))
                    failures.Add($"{label}: CSV records and skips overlap or lie outside the file");

                // A record on a line left as it was reads as it did in the original.
                for (int i = 0; i < skip.Lines.Count; i++)
                {
                    var line = lines[skip.Lines[i] - 1];
                    if (!firstIndex.TryGetValue(line, out int before) || !baselineAt.TryGetValue(before + 1, out int at)) continue;
                    unchanged++;
                    if (!skip.RecordTexts[i].SequenceEqual(baseline.RecordTexts[at]))
                        failures.Add($"{label}: the unchanged line {skip.Lines[i]} reads differently");
                }

                // The other JSONL readers, on every fourth JSONL mutant (their records are all bad, and each bad record
                // costs an exception): records or DatasetFormatException, nothing else.
                if (!reader.IsCsv && m % 4 == 0)
                    foreach (var other in ReaderUnderTest.Jsonl().Where(o => o != reader))
                    {
                        otherReads++;
                        try { other.ReadBytes(mutant, path, Skip); }
                        catch (DatasetFormatException) { }
                        catch (Exception e) { failures.Add($"{label} read by {other.Name}: {e.GetType().Name}: {e.Message}"); }
                    }
            }
        }
        output.WriteLine($"{mutants} mutants of {samples.Length} samples: {read} read under Fail, {failed} DatasetFormatException; " +
                         $"{skipsChecked} skips counted under Skip; {unchanged} records on unchanged lines compared with the original; " +
                         $"{otherReads} more reads by the other JSONL readers; {failures.Count} failures");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(30)));
        Assert.Equal(mutants, read + failed);
        Assert.True(unchanged > 0, "no record on an unchanged line was compared");
        Assert.True(failed > mutants / 4 && read > 0, $"the mutations should break some files and leave others readable ({read} read, {failed} failed)");
    }

    /// <summary>The file's lines as Latin-1 strings (bytes kept one to one), split at LF with a CR before it dropped, as the readers count them.</summary>
    private static List<string> SplitLines(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var lines = text.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).ToList();
        if (text.EndsWith('\n') || text.Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    private static (byte[] Bytes, string How) Mutate(byte[] original, Random rng)
    {
        var b = original.ToList();
        int Pos() => rng.Next(b.Count);
        switch (rng.Next(7))
        {
            case 0:
            {
                int p = Pos(), bit = rng.Next(8);
                b[p] ^= (byte)(1 << bit);
                return ([.. b], $"flip bit {bit} of byte {p}");
            }
            case 1:
            {
                int p = Pos();
                byte v = Interesting[rng.Next(Interesting.Length)];
                b[p] = v;
                return ([.. b], $"byte {p} set to 0x{v:X2}");
            }
            case 2:
            {
                int p = Pos();
                return ([.. b.Take(p)], $"truncated at {p}");
            }
            case 3:
            {
                int p = Pos(), n = rng.Next(1, 65);
                b.RemoveRange(p, Math.Min(n, b.Count - p));
                return ([.. b], $"deleted {n} bytes at {p}");
            }
            case 4:
            {
                int p = Pos(), n = Math.Min(rng.Next(1, 200), b.Count - p), at = Pos();
                var run = b.GetRange(p, n);
                b.InsertRange(at, run);
                return ([.. b], $"copied {n} bytes from {p} to {at}");
            }
            case 5:
            {
                int p = Pos(), n = rng.Next(1, 5);
                var bytes = new byte[n];
                rng.NextBytes(bytes);
                b.InsertRange(p, bytes);
                return ([.. b], $"inserted {Convert.ToHexString(bytes)} at {p}");
            }
            default:
            {
                int n = rng.Next(2, 9);
                for (int i = 0; i < n; i++) b[Pos()] ^= (byte)(1 << rng.Next(8));
                return ([.. b], $"{n} bit flips");
            }
        }
    }
}
