namespace Payments.Grains;

/// <summary>How every payments grain stores its state.</summary>
internal static class StateWrites
{
    /// <summary>
    /// Writes the state. If the write fails, memory is ahead of storage (or, on an ETag conflict, another activation
    /// owns the grain): <paramref name="undo"/> takes back the change so that this activation does not answer from it,
    /// the activation goes away so that the next call starts from what is stored, and the failure is rethrown.
    /// </summary>
    public static async Task WriteOrUndoAsync<TState>(this IPersistentState<TState> state, IGrainBase grain, Action undo)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            undo();
            grain.DeactivateOnIdle();
            throw;
        }
    }
}
