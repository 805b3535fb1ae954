import Foundation
import POSIX

/// Byte-level BPE: a word's bytes start as single-byte symbols and are merged pairwise,
/// always applying the merge with the lowest rank first (leftmost among equal ranks),
/// until no adjacent pair has a merge.
///
/// Vocabulary strings are converted once to raw bytes (through `ByteLevelAlphabet`) so the
/// hot path never builds strings. Results for short words are cached because real text
/// repeats words a lot.
final class BPEModel: Sendable {
    /// Id of each single byte, or -1 when the byte has no vocabulary entry.
    private let byteIDs: [Int]
    /// Whole-word lookup, used when `ignoreMerges` is set.
    private let wordIDs: [[UInt8]: Int]
    /// Merge of the pair `(left << 32) | right` -> (rank, id of the merged symbol).
    private let merges: [UInt64: Merge]
    private let ignoreMerges: Bool
    private let unknownID: Int?
    private let fuseUnknown: Bool
    private let cache: WordCache

    struct Merge: Sendable {
        let rank: Int
        let id: Int
    }

    /// - Parameters:
    ///   - vocab: token string -> id, in the byte-level alphabet.
    ///   - merges: merge rules in priority order (index = rank).
    init(
        vocab: [String: Int], merges mergeList: [(String, String)], ignoreMerges: Bool,
        unknownToken: String?, fuseUnknown: Bool, alphabet: ByteLevelAlphabet, cacheCapacity: Int = 10_000
    ) throws {
        var byteIDs = [Int](repeating: -1, count: 256)
        var wordIDs: [[UInt8]: Int] = [:]
        wordIDs.reserveCapacity(vocab.count)
        for (token, id) in vocab {
            guard let bytes = alphabet.bytes(of: token) else { continue }
            wordIDs[bytes] = id
            if bytes.count == 1 { byteIDs[Int(bytes[0])] = id }
        }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, (left, right)) in mergeList.enumerated() {
            guard let leftID = vocab[left], let rightID = vocab[right] else {
                throw TokenizerError.invalidJSON(
                    file: "tokenizer.json", reason: "merge \(left) \(right) uses a token missing from the vocabulary")
            }
            guard let mergedID = vocab[left + right] else {
                throw TokenizerError.invalidJSON(
                    file: "tokenizer.json", reason: "merge \(left) \(right) produces a token missing from the vocabulary")
            }
            let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
            // The first (lowest-rank) occurrence of a pair wins, as in the reference.
            if merges[key] == nil { merges[key] = Merge(rank: rank, id: mergedID) }
        }
        self.byteIDs = byteIDs
        self.wordIDs = wordIDs
        self.merges = merges
        self.ignoreMerges = ignoreMerges
        if let unknownToken {
            guard let id = vocab[unknownToken] else { throw TokenizerError.unknownToken(unknownToken) }
            self.unknownID = id
        } else {
            self.unknownID = nil
        }
        self.fuseUnknown = fuseUnknown
        self.cache = WordCache(capacity: cacheCapacity)
    }

    /// Appends the ids of one word (raw UTF-8 bytes of a pre-tokenized piece) to `output`.
    func tokenize(_ word: ArraySlice<UInt8>, into output: inout [Int]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = wordIDs[Array(word)] {
            output.append(id)
            return
        }
        let cacheable = word.count <= WordCache.maxWordLength
        if cacheable, let hit = cache.lookup(word) {
            output.append(contentsOf: hit)
            return
        }
        let ids = merge(word)
        if cacheable { cache.store(word, ids) }
        output.append(contentsOf: ids)
    }

    /// Applies the merges to one word.
    private func merge(_ word: ArraySlice<UInt8>) -> [Int] {
        var symbols = SymbolList(capacity: word.count)
        var previousWasUnknown = false
        for byte in word {
            let id = byteIDs[Int(byte)]
            if id >= 0 {
                symbols.append(id)
                previousWasUnknown = false
            } else if let unknownID {
                // Consecutive unknown symbols collapse into one when fuse_unk is set.
                if !(fuseUnknown && previousWasUnknown) { symbols.append(unknownID) }
                previousWasUnknown = true
            }
            // Without an unknown token the reference silently drops the symbol; so do we.
        }
        if symbols.count < 2 { return symbols.ids() }

        var queue = MergeQueue()
        for index in 0..<(symbols.count - 1) {
            if let merge = mergeFor(symbols.id[index], symbols.id[index + 1]) {
                queue.push(MergeQueue.Entry(rank: merge.rank, position: index, id: merge.id))
            }
        }
        while let top = queue.pop() {
            let left = top.position
            // Skip entries made stale by earlier merges: the left symbol was absorbed, has no
            // right neighbour any more, or the pair at this position changed.
            guard symbols.alive[left], let right = symbols.next(left),
                let current = mergeFor(symbols.id[left], symbols.id[right]), current.id == top.id
            else { continue }
            symbols.merge(left, right, into: top.id)
            if let previous = symbols.previous(left), let merge = mergeFor(symbols.id[previous], top.id) {
                queue.push(MergeQueue.Entry(rank: merge.rank, position: previous, id: merge.id))
            }
            if let next = symbols.next(left), let merge = mergeFor(top.id, symbols.id[next]) {
                queue.push(MergeQueue.Entry(rank: merge.rank, position: left, id: merge.id))
            }
        }
        return symbols.ids()
    }

    @inline(__always)
    private func mergeFor(_ left: Int, _ right: Int) -> Merge? {
        merges[UInt64(UInt32(truncatingIfNeeded: left)) << 32 | UInt64(UInt32(truncatingIfNeeded: right))]
    }
}

/// A word's symbols as a doubly linked list over fixed slots (slot = original byte position),
/// so merging is O(1) and positions keep their left-to-right order.
private struct SymbolList {
    var id: [Int] = []
    var alive: [Bool] = []
    var prev: [Int] = []
    var nextSlot: [Int] = []

    init(capacity: Int) {
        id.reserveCapacity(capacity)
        alive.reserveCapacity(capacity)
        prev.reserveCapacity(capacity)
        nextSlot.reserveCapacity(capacity)
    }

    var count: Int { id.count }

    mutating func append(_ symbol: Int) {
        let slot = id.count
        id.append(symbol)
        alive.append(true)
        prev.append(slot - 1)
        nextSlot.append(slot + 1)
    }

    func next(_ slot: Int) -> Int? {
        let n = nextSlot[slot]
        return n < id.count ? n : nil
    }

    func previous(_ slot: Int) -> Int? {
        let p = prev[slot]
        return p >= 0 ? p : nil
    }

    /// Merges `right` into `left`.
    mutating func merge(_ left: Int, _ right: Int, into newID: Int) {
        id[left] = newID
        alive[right] = false
        let after = nextSlot[right]
        nextSlot[left] = after
        if after < id.count { prev[after] = left }
    }

    func ids() -> [Int] {
        var out: [Int] = []
        var slot = id.isEmpty ? id.count : 0
        while slot < id.count {
            out.append(id[slot])
            slot = nextSlot[slot]
        }
        return out
    }
}

/// Binary min-heap of candidate merges ordered by (rank, position).
private struct MergeQueue {
    struct Entry {
        let rank: Int
        let position: Int
        let id: Int

        func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : position < other.position
        }
    }

    private var heap: [Entry] = []

    mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}

/// Bounded, thread-safe word -> ids cache. When full it stops inserting (no eviction), like
/// the reference; a long-running service sees its common words early.
final class WordCache: Sendable {
    static let maxWordLength = 256
    private let capacity: Int
    private let entries = Locked<[[UInt8]: [Int]]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    func lookup(_ word: ArraySlice<UInt8>) -> [Int]? {
        let key = Array(word)
        return entries.withLock { $0[key] }
    }

    func store(_ word: ArraySlice<UInt8>, _ ids: [Int]) {
        let key = Array(word)
        entries.withLock { entries in
            if entries.count < capacity { entries[key] = ids }
        }
    }
}
