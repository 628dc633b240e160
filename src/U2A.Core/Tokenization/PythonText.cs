namespace U2A.Core.Tokenization;

/// <summary>Python's <c>str.strip</c> family, as Jinja templates under transformers evaluate it.</summary>
internal static class PythonText
{
    /// <summary>The characters of Python's <c>str.isspace</c> (and so of <c>strip()</c> and Jinja's <c>trim</c>).</summary>
    public const string Whitespace = "\t\n\v\f\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

    /// <summary><c>s.strip(chars)</c> (both sides), <c>lstrip</c> or <c>rstrip</c>; null chars = whitespace.</summary>
    public static string Strip(string s, string? chars = null, bool left = true, bool right = true)
    {
        var set = chars ?? Whitespace;
        int a = 0, b = s.Length;
        if (left) while (a < b && set.Contains(s[a])) a++;
        if (right) while (b > a && set.Contains(s[b - 1])) b--;
        return s[a..b];
    }

    /// <summary><c>s.lstrip(chars)</c>.</summary>
    public static string LStrip(string s, string chars) => Strip(s, chars, right: false);

    /// <summary><c>s.rstrip(chars)</c>.</summary>
    public static string RStrip(string s, string chars) => Strip(s, chars, left: false);
}
