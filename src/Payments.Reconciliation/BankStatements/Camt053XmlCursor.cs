using System.Text;
using System.Xml;

namespace Payments.Reconciliation.BankStatements;

/// <summary>A place in the file, for error messages: 1-based line and position, 0 when unknown.</summary>
internal readonly record struct TextPosition(int Line, int Column);

/// <summary>
/// Pull helpers over the file's <see cref="XmlReader"/>: walking the child elements of an element and reading an
/// element's text. Every move is async, so an upload is never read synchronously, and nothing is materialised: the
/// decoders take what they need as it passes.
/// </summary>
/// <remarks>
/// The walking pattern: on a start tag, <c>var depth = await EnterAsync();</c> then
/// <c>while (await NextChildAsync(depth)) { switch (CamtName) { ... default: await SkipAsync(); } }</c>, where
/// every case consumes the child it is on (reads its text, walks it, or skips it).
/// </remarks>
internal sealed class Camt053XmlCursor(XmlReader xml, string camtNamespace)
{
    /// <summary>
    /// The local name of the element at the cursor when it belongs to the statement's namespace; null otherwise, so
    /// that elements of other namespaces (the extensions of SplmtryData) fall to the skipping default.
    /// </summary>
    public string? CamtName => xml.NodeType == XmlNodeType.Element && xml.NamespaceURI == camtNamespace ? xml.LocalName : null;

    public string LocalName => xml.LocalName;

    public TextPosition Position => xml is IXmlLineInfo info && info.HasLineInfo() ? new(info.LineNumber, info.LinePosition) : default;

    public string? Attribute(string name) => xml.GetAttribute(name);

    /// <summary>On a start tag: moves inside it (or past it, when it is empty) and returns its depth.</summary>
    public ValueTask<int> EnterAsync()
    {
        var depth = xml.Depth;
        var read = xml.ReadAsync();
        return read.IsCompletedSuccessfully ? ValueTask.FromResult(depth) : AwaitEnterAsync(read, depth);
    }

    /// <summary>
    /// Moves to the next child element of the element entered at <paramref name="parentDepth"/> (true), or past its
    /// end tag when it has no more (false).
    /// </summary>
    /// <remarks>
    /// Called for nearly every node of the file, so it is not an async method: it only awaits when the reader has to
    /// wait for more of the stream, and otherwise costs no state machine.
    /// </remarks>
    public ValueTask<bool> NextChildAsync(int parentDepth)
    {
        while (xml.Depth > parentDepth)
        {
            if (xml.NodeType == XmlNodeType.Element && xml.Depth == parentDepth + 1)
            {
                return ValueTask.FromResult(true);
            }

            var read = xml.ReadAsync();
            if (!read.IsCompletedSuccessfully)
            {
                return AwaitNextChildAsync(read, parentDepth);
            }
        }

        // Either the parent's end tag, or (the parent was empty) already the node after it.
        if (xml.NodeType == XmlNodeType.EndElement && xml.Depth == parentDepth)
        {
            var read = xml.ReadAsync();
            if (!read.IsCompletedSuccessfully)
            {
                return AwaitFalseAsync(read);
            }
        }

        return ValueTask.FromResult(false);
    }

    /// <summary>On a start tag: the text inside the element (of its children too, as XElement.Value has it); moves past it.</summary>
    public async ValueTask<string> ReadTextAsync()
    {
        var depth = await EnterAsync();
        var text = string.Empty;
        StringBuilder? longer = null;
        while (xml.Depth > depth)
        {
            if (xml.NodeType is XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.SignificantWhitespace)
            {
                // GetValueAsync, not Value: a long text may not be read yet, and Value would read it synchronously.
                var value = await xml.GetValueAsync();
                if (text.Length == 0)
                {
                    text = value;
                }
                else
                {
                    (longer ??= new StringBuilder(text)).Append(value);
                }
            }

            await xml.ReadAsync();
        }

        if (xml.NodeType == XmlNodeType.EndElement && xml.Depth == depth)
        {
            await xml.ReadAsync();
        }

        return longer?.ToString() ?? text;
    }

    /// <summary>The text of the element, or null when it is empty: camt.053 has no meaningful empty values.</summary>
    public async ValueTask<string?> ReadOptionalTextAsync() => await ReadTextAsync() is { Length: > 0 } text ? text : null;

    /// <summary>
    /// On a start tag: reads its child <paramref name="childName"/> with <paramref name="readChild"/> (the last one,
    /// should there be several), skips its other children, and moves past it.
    /// </summary>
    public async ValueTask<T?> ReadChildAsync<T>(string childName, Func<ValueTask<T?>> readChild)
    {
        T? value = default;
        var depth = await EnterAsync();
        while (await NextChildAsync(depth))
        {
            if (CamtName == childName)
            {
                value = await readChild();
            }
            else
            {
                await SkipAsync();
            }
        }

        return value;
    }

    /// <summary>On a start tag: the text of its child <paramref name="childName"/>, or null; moves past it.</summary>
    public ValueTask<string?> ReadChildTextAsync(string childName) => ReadChildAsync(childName, ReadOptionalTextAsync);

    public Task SkipAsync() => xml.SkipAsync();

    /// <summary>Reads whatever is left of the file, so that it is checked to be well-formed to its end.</summary>
    public async ValueTask ReadToEndAsync()
    {
        while (await xml.ReadAsync())
        {
        }
    }

    public InvalidStatementException InvalidHere(string reason) => Invalid(reason, Position);

    public static InvalidStatementException Invalid(string reason, TextPosition at) =>
        at.Line > 0 ? new InvalidStatementException(reason, at.Line, at.Column) : new InvalidStatementException(reason);

    private static async ValueTask<int> AwaitEnterAsync(Task<bool> read, int depth)
    {
        await read;
        return depth;
    }

    private async ValueTask<bool> AwaitNextChildAsync(Task<bool> read, int parentDepth)
    {
        await read;
        return await NextChildAsync(parentDepth);
    }

    private static async ValueTask<bool> AwaitFalseAsync(Task<bool> read)
    {
        await read;
        return false;
    }
}
