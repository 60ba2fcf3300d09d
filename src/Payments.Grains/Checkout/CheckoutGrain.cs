using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Checkout;
using Payments.Core.PaymentOrders;
using Payments.Core.Events;
using Payments.Core.Wallets;
using Payments.Grains.Events;

namespace Payments.Grains.Checkout;

/// <summary>
/// One payment event: a buyer paying several sellers, one payment order each. The checkout is written
/// before its orders exist, so a crash leaves a checkout whose orders a retry (or the sweep of their wake-ups) finish.
/// </summary>
[CollectionAgeLimit(Minutes = GrainCollection.OnePerRequestIdleMinutes)]
internal sealed class CheckoutGrain(
    [PersistentState("checkout", GrainStorage.Name)] IPersistentState<CheckoutState> checkout,
    EventOutbox events,
    IOptions<CheckoutOptions> options,
    TimeProvider time,
    ILogger<CheckoutGrain> logger) : Grain, ICheckoutGrain
{
    private static readonly TimeSpan CompletionPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Orders tell interleaved with each other: one of them makes the completion, and its write is not doubled.</summary>
    private readonly SemaphoreSlim _completing = new(1, 1);

    /// <summary><c>checkout.completed</c> is in the log (this activation saw it there): an order telling again changes nothing.</summary>
    private bool _completionWritten;

    /// <summary>References to the orders of <see cref="_ordersOf"/>, made once (GetGrain costs reflection at every call).</summary>
    private IPaymentOrderGrain[] _orders = [];
    private List<string>? _ordersOf;

    private string CheckoutId => this.GetPrimaryKeyString();

    /// <summary>Held while orders are being created, so that an order asking whether it may go ahead hears "wait".</summary>
    private readonly SemaphoreSlim _creating = new(1, 1);

    public async Task<CreateCheckoutResult> CreateAsync(CreateCheckout command)
    {
        CreateCheckoutOutcome outcome;
        await _creating.WaitAsync();
        try
        {
            var (refused, allExisted) = await CreateOrdersAsync(command);
            if (refused is not null)
            {
                return refused;
            }

            outcome = allExisted ? CreateCheckoutOutcome.AlreadyExists : CreateCheckoutOutcome.Created;
        }
        finally
        {
            _creating.Release();
        }

        return await ExecuteOrdersAsync(command, outcome);
    }

    /// <summary>
    /// The checkout and all its orders, or none: a refusal comes back as a result, a fault part-way releases what was created
    /// (and if even that fails, the orders ask <see cref="ConfirmOrderAsync"/> before they are charged, and are released then).
    /// </summary>
    private async Task<(CreateCheckoutResult? Refused, bool AllExisted)> CreateOrdersAsync(CreateCheckout command)
    {
        var fingerprint = Fingerprint(command);
        if (checkout.State.Exists)
        {
            if (checkout.State.MerchantId != command.MerchantId || checkout.State.RequestFingerprint != fingerprint)
            {
                return (new CreateCheckoutResult(CreateCheckoutOutcome.ExistsWithDifferentRequest, null, null), false);
            }
        }
        else
        {
            // Sellers are a merchant's own: money for one merchant's checkout never lands in another's seller.
            var claims = await Task.WhenAll(command.Orders.Select(line => line.SellerAccount).Distinct(StringComparer.Ordinal)
                .Select(async seller => (Seller: seller, Result: await GrainFactory.GetGrain<ISellerWalletGrain>(seller).ClaimAsync(new ClaimSeller(command.MerchantId)))));
            if (claims.FirstOrDefault(claim => claim.Result.Outcome == ClaimSellerOutcome.OwnedByOtherMerchant) is { Seller: { } foreign })
            {
                return (new CreateCheckoutResult(CreateCheckoutOutcome.SellerBelongsToOtherMerchant, null, foreign), false);
            }

            var now = time.GetUtcNow();
            checkout.State = new CheckoutState
            {
                Exists = true,
                MerchantId = command.MerchantId,
                BuyerId = command.BuyerId,
                RequestFingerprint = fingerprint,
                PaymentOrderIds = command.Orders.Select(line => line.PaymentOrderId).ToList(),
                CreationPending = true,
                CreatedAt = now,
                UpdatedAt = now,
            };
            // Not stored, so the checkout does not exist: memory must not say otherwise to the retry.
            await checkout.WriteOrUndoAsync(this, () => checkout.State = new CheckoutState());
        }

        // Creating an order that this checkout created before is a no-op, so a retried checkout converges.
        var creations = command.Orders.Select(line => CreateOrderAsync(command, line)).ToArray();
        (string PaymentOrderId, CreatePaymentOrderOutcome Outcome)[] results;
        try
        {
            results = await Task.WhenAll(creations);
        }
        // Only while the creation is pending: once it was stored as done (by an earlier try of this request), the orders may be
        // charged and may have told this checkout they are final. A retry that cannot reach an order (its silo just died)
        // then fails as it is, and undoes nothing: releasing would clear the checkout, and an order telling it meanwhile, or
        // having told it before, would never have it complete.
        catch (Exception exception) when (checkout.State.CreationPending)
        {
            // An order could not be created (the database refused, say): the client hears of a failure, so nothing of this
            // checkout may be charged. Whatever the faulted creations left behind is released too (a no-op for what is not there).
            logger.LogWarning(exception, "Checkout {CheckoutId}: creating its orders failed part-way; releasing them", CheckoutId);
            try
            {
                await UndoAsync(command.Orders.Select(line => (line.PaymentOrderId, CreatePaymentOrderOutcome.Created)));
            }
            catch (Exception undoFailure)
            {
                logger.LogWarning(undoFailure, "Checkout {CheckoutId}: releasing its orders failed too; they are released when they ask", CheckoutId);
            }

            throw;
        }

        var conflicts = results.Where(result => result.Outcome is CreatePaymentOrderOutcome.BelongsToOtherCheckout or CreatePaymentOrderOutcome.ExistsWithDifferentTerms).ToArray();
        if (conflicts.Length > 0)
        {
            // Stored as created (by an earlier try), its orders may have been let go: then nothing is undone.
            if (checkout.State.CreationPending)
            {
                await UndoAsync(results);
            }

            return (new CreateCheckoutResult(CreateCheckoutOutcome.PaymentOrderExists, null, conflicts[0].PaymentOrderId), false);
        }

        if (checkout.State.CreationPending)
        {
            checkout.State.CreationPending = false;
            await checkout.WriteOrUndoAsync(this, () => checkout.State.CreationPending = true);
        }

        return (null, results.All(result => result.Outcome == CreatePaymentOrderOutcome.AlreadyExists));
    }

    private async Task<CreateCheckoutResult> ExecuteOrdersAsync(CreateCheckout command, CreateCheckoutOutcome outcome)
    {
        var deadline = time.GetUtcNow() + command.SynchronousWindow;
        // The checkout's orders are the command's: the fingerprint matched, or the checkout was made from it.
        var execution = Task.WhenAll(Orders().Select(order => order.ExecuteAsync()));
        var finishedInTime = await Task.WhenAny(execution, Task.Delay(command.SynchronousWindow, time)) == execution;
        if (finishedInTime && execution.IsFaulted)
        {
            // The orders own their retries; the checkout only reports what it sees.
            logger.LogWarning(execution.Exception, "Checkout {CheckoutId}: executing an order failed", CheckoutId);
        }
        else if (!finishedInTime)
        {
            _ = execution.ContinueWith(
                static (task, state) => ((ILogger)state!).LogWarning(task.Exception, "An order of a checkout failed after the synchronous window"),
                logger,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted,
                TaskScheduler.Current);
        }

        // An order whose first attempt met a PSP fault retries on its own timer; a quick retry still earns a 201.
        var view = await BuildViewAsync();
        while (!view.IsPaymentDone && view.Orders.Any(IsProgressingOnItsOwn) && time.GetUtcNow() < deadline)
        {
            var remaining = deadline - time.GetUtcNow();
            await Task.Delay(remaining < CompletionPollInterval ? remaining : CompletionPollInterval, time);
            view = await BuildViewAsync();
        }

        return new CreateCheckoutResult(outcome, view, null);
    }

    public async Task<OrderGoAhead> ConfirmOrderAsync(string paymentOrderId)
    {
        if (!_creating.Wait(0))
        {
            return OrderGoAhead.Wait;
        }

        try
        {
            if (!checkout.State.Exists || !checkout.State.PaymentOrderIds.Contains(paymentOrderId))
            {
                return OrderGoAhead.Release;
            }

            if (!checkout.State.CreationPending)
            {
                return OrderGoAhead.Go;
            }

            // Memory may be behind storage (a write whose answer was lost was undone here but did commit): ask storage.
            await checkout.ReadStateAsync();
            if (!checkout.State.Exists || !checkout.State.PaymentOrderIds.Contains(paymentOrderId))
            {
                return OrderGoAhead.Release;
            }

            if (!checkout.State.CreationPending)
            {
                return OrderGoAhead.Go;
            }

            // The creation broke off and its undo did not get through either: undo it now. The asking order releases itself
            // (it waits for this answer, so asking it would deadlock).
            logger.LogWarning("Checkout {CheckoutId}: its creation broke off part-way; releasing its orders uncharged", CheckoutId);
            await UndoAsync(checkout.State.PaymentOrderIds.Where(id => id != paymentOrderId).Select(id => (id, CreatePaymentOrderOutcome.Created)));
            return OrderGoAhead.Release;
        }
        finally
        {
            _creating.Release();
        }
    }

    /// <summary>An order that waits on the buyer (or on the PSP's webhook) will not finish within the window: no point waiting.</summary>
    private static bool IsProgressingOnItsOwn(PaymentOrderView order) =>
        !order.Status.IsFinal() && order.Status != PaymentOrderStatus.RequiresAction;

    public async Task<CheckoutView?> GetAsync() => checkout.State.Exists ? await BuildViewAsync() : null;

    public async Task OrderFinishedAsync(string paymentOrderId)
    {
        await _completing.WaitAsync();
        try
        {
            if (!checkout.State.Exists || !checkout.State.PaymentOrderIds.Contains(paymentOrderId))
            {
                return;
            }

            if (checkout.State.CompletedEvent is { } stored)
            {
                // Stored before it went to the log (by an earlier build, or with Checkout:StoreCompletion): written again.
                await WriteCompletionAsync(stored);
                return;
            }

            if (_completionWritten || checkout.State.FinalOrderIds.Contains(paymentOrderId))
            {
                return;
            }

            // Complete only on the word of every order: an order's view may be final in memory before it is stored.
            // Memory changes only after the view is built: building it asks every order, and one may be on a silo just
            // killed. Had this order's word been taken in memory then, its telling again (it heard a failure) would find it
            // taken and the completion never made.
            //
            // The last word makes the completion, which goes straight to the log, with no state write. Its id is made from the
            // checkout's, so the log keeps one however often the order tells (it tells until this answers), whichever
            // activation of this build, or of one that stores it (CheckoutOptions.StoreCompletion), hears it.
            OwedEvent? completed = null;
            if (checkout.State.PaymentOrderIds.All(id => id == paymentOrderId || checkout.State.FinalOrderIds.Contains(id)))
            {
                completed = OwedEvent.For(EventTypes.CheckoutCompleted, CheckoutId, time.GetUtcNow());
                completed.EventId = CompletionEventId(checkout.State.MerchantId, CheckoutId);
                completed.Data = ResourceJson.Checkout(await BuildViewAsync());
            }

            // Stored for a word that is not the last, and, for silos of an earlier build in the cluster (they know a checkout
            // is complete only from its state), for the last too.
            if (completed is null || options.Value.StoreCompletion)
            {
                checkout.State.FinalOrderIds.Add(paymentOrderId);
                checkout.State.CompletedEvent = completed;
                await checkout.WriteOrUndoAsync(this, () =>
                {
                    checkout.State.FinalOrderIds.Remove(paymentOrderId);
                    checkout.State.CompletedEvent = null;
                });
            }

            if (completed is not null)
            {
                await WriteCompletionAsync(completed);
                _completionWritten = true;
            }
        }
        finally
        {
            _completing.Release();
        }
    }

    private async Task WriteCompletionAsync(OwedEvent completed)
    {
        if (!await events.WriteAsync(this, checkout.State.MerchantId, [completed]))
        {
            throw new InvalidOperationException($"Checkout {CheckoutId}: checkout.completed could not be written to the event log yet.");
        }
    }

    /// <summary>
    /// <c>checkout.completed</c>'s id, made from the checkout's and its merchant's (a checkout completes once, and its id is
    /// taken once: an undone checkout, whose id may be used again, never had its orders charged, so never completed). Every
    /// build must make the same id: a test holds it to a fixed value.
    /// </summary>
    internal static string CompletionEventId(string merchantId, string checkoutId) =>
        "evt_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{EventTypes.CheckoutCompleted}\n{merchantId}\n{checkoutId}")).AsSpan(0, 16));

    private async Task<(string PaymentOrderId, CreatePaymentOrderOutcome Outcome)> CreateOrderAsync(CreateCheckout command, CheckoutOrderLine line)
    {
        var result = await GrainFactory.GetGrain<IPaymentOrderGrain>(line.PaymentOrderId).CreateAsync(
            new CreatePaymentOrder(command.MerchantId, CheckoutId, line.SellerAccount, line.Amount, command.PaymentMethod, command.BuyerId));
        return (line.PaymentOrderId, result.Outcome);
    }

    /// <summary>A checkout that cannot have all its orders does not exist: release the orders it claimed.</summary>
    private async Task UndoAsync(IEnumerable<(string PaymentOrderId, CreatePaymentOrderOutcome Outcome)> results)
    {
        await Task.WhenAll(results
            .Where(result => result.Outcome is CreatePaymentOrderOutcome.Created or CreatePaymentOrderOutcome.AlreadyExists)
            .Select(result => GrainFactory.GetGrain<IPaymentOrderGrain>(result.PaymentOrderId).ReleaseAsync(CheckoutId)));
        await checkout.ClearStateAsync();
        checkout.State = new CheckoutState();
    }

    /// <summary>The checkout's status and is_payment_done follow from its orders, so they are derived, never stored.</summary>
    private async Task<CheckoutView> BuildViewAsync()
    {
        var orders = await Task.WhenAll(Orders().Select(order => order.GetAsync()));
        var known = orders.OfType<PaymentOrderView>().ToArray();
        var status = known.Length == checkout.State.PaymentOrderIds.Count
            ? CheckoutStatusExtensions.FromOrders(known.Select(order => order.Status).ToArray())
            : CheckoutStatus.Processing;
        var isPaymentDone = known.Length == checkout.State.PaymentOrderIds.Count && known.All(order => order.Status.IsFinal());
        var updatedAt = known.Length == 0 ? checkout.State.UpdatedAt : new[] { checkout.State.UpdatedAt, known.Max(order => order.UpdatedAt) }.Max();
        return new CheckoutView(CheckoutId, checkout.State.MerchantId, status, isPaymentDone, checkout.State.BuyerId, known, checkout.State.CreatedAt, updatedAt);
    }

    private IPaymentOrderGrain[] Orders()
    {
        var ids = checkout.State.PaymentOrderIds;
        if (!ReferenceEquals(_ordersOf, ids) || _orders.Length != ids.Count)
        {
            _orders = ids.Select(id => GrainFactory.GetGrain<IPaymentOrderGrain>(id)).ToArray();
            _ordersOf = ids;
        }

        return _orders;
    }

    private static string Fingerprint(CreateCheckout command)
    {
        var text = new StringBuilder();
        text.Append(command.MerchantId).Append('\n').Append(command.BuyerId).Append('\n').Append(command.PaymentMethod);
        foreach (var line in command.Orders)
        {
            text.Append('\n').Append(line.PaymentOrderId).Append('|').Append(line.SellerAccount).Append('|')
                .Append(line.Amount.Minor.ToString(CultureInfo.InvariantCulture)).Append('|').Append(line.Amount.Currency.Code);
        }

        return text.ToString();
    }
}
