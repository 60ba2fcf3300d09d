namespace Payments.Grains;

/// <summary>
/// A grain reference kept while its key stays the same. <c>GrainFactory.GetGrain</c> finds the interface's grain type by
/// reflection on its attributes at every call (Orleans 10 does not cache it): made anew for every call to a wallet, ledger,
/// checkout or order, that was 2 % of the silo's CPU per order. A mutable struct: keep it in a field that is not readonly.
/// </summary>
internal struct GrainReferenceCache<TGrain>
    where TGrain : class, IGrainWithStringKey
{
    private string? _key;
    private TGrain? _grain;

    public TGrain Get(IGrainFactory factory, string key)
    {
        if (_grain is null || !string.Equals(_key, key, StringComparison.Ordinal))
        {
            _grain = factory.GetGrain<TGrain>(key);
            _key = key;
        }

        return _grain;
    }
}
