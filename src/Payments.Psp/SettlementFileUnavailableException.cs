namespace Payments.Psp;

/// <summary>
/// A settlement report or bank statement could not be had: the PSP or the bank refused or failed the request, the report
/// run failed or did not finish in time, or nobody answered. Nothing was read, so the caller can simply try again later.
/// One type for every cause, so that the caller answers them all the same way; the message says which it was.
/// </summary>
public sealed class SettlementFileUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException);
