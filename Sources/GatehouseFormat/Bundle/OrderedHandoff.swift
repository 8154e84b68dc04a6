import Foundation

/// A bounded, ordered hand-off from one producer thread to one consumer thread.
///
/// The producer blocks when `capacity` items are waiting, which bounds memory; the consumer's
/// first error stops the producer at its next `put`.
final class OrderedHandoff<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false
    private var failure: FormatError?
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Queues an item; throws the consumer's error if it has failed.
    func put(_ item: Item) throws(FormatError) {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && failure == nil { condition.wait() }
        if let failure { throw failure }
        items.append(item)
        condition.broadcast()
    }

    /// No more items will come.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next item, or nil once closed and drained (or failed).
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed && failure == nil { condition.wait() }
        guard failure == nil, !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// Records the consumer's error and wakes the producer.
    func fail(_ error: FormatError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer's error, if any.
    var error: FormatError? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }
}

/// Runs a ``PayloadEncryptor`` on its own thread, so encryption, the outer hash and writing
/// overlap with reading, hashing and compressing on the caller's thread (FORMAT.md's stream
/// order is kept: items are encrypted exactly in the order they are queued).
final class PayloadWriterThread: @unchecked Sendable {
    // Half a batch waits while the reader hands over the rest and encodes the next: room for
    // more keeps the writer no busier, it only holds more megabytes (each incompressible block
    // is 1 MiB).
    private let handoff = OrderedHandoff<[UInt8]>(capacity: max(1, BlockReader.width / 2))
    private let done = DispatchSemaphore(value: 0)
    private let payload: PayloadEncryptor
    private var joined = false  // touched only by the producer thread

    init(payload: PayloadEncryptor) {
        self.payload = payload
        let thread = Thread { [self] in run() }
        thread.name = "gatehouse-seal-writer"
        thread.start()
    }

    private func run() {
        defer { done.signal() }
        while let bytes = handoff.take() {
            do { try payload.append(bytes) } catch {
                handoff.fail(error)
                return
            }
        }
    }

    /// Queues plaintext-stream bytes, in order.
    func append(_ bytes: [UInt8]) throws(FormatError) { try handoff.put(bytes) }

    /// Stops the writer after a failure on the producer's side and waits for it to exit.
    func abandon() {
        handoff.fail(.io("sealing was abandoned"))
        join()
    }

    private func join() {
        guard !joined else { return }
        handoff.close()
        done.wait()
        joined = true
    }

    /// Waits until everything queued has been encrypted; rethrows the writer's error.
    func drain() throws(FormatError) {
        join()
        if let error = handoff.error { throw error }
    }
}
