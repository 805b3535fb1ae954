/// One terminal line for a download's progress, fitted to a width:
///
///     [=============>                ]  43%  120.0 MB/280.0 MB  12.3 MB/s  ETA 13s  model.safetensors
///     [==============================] 100%  280.0 MB  11.8 MB/s  done in 24s  org/tiny
///
/// A pure function of a `HubProgress` (`ProgressBarWriter` draws it). When the width is short,
/// parts go in this order: the label is cut to its end ("...safetensors"), the bar shrinks, then
/// the label, the bar, the ETA, the rate and the percentage are left out; the byte counts stay.
/// Widths are counted in characters (every one taken as one column).
public enum ProgressBar {
    /// Columns assumed when the terminal does not say (TIOCGWINSZ fails or answers 0).
    public static let defaultWidth = 80
    /// The bar's inside, in characters, when it is drawn at all.
    static let barWidths = 10...30
    /// Shortest cut label worth showing ("..." and 9 characters of the name).
    static let minimumLabel = 12
    static let gap = "  "

    /// The line for `progress` in at most `width - 1` characters: the last column stays empty,
    /// because a character written there makes some terminals wrap before the `\r` comes.
    /// `elapsed` (seconds since the download began) goes into the final "done in" line.
    public static func line(_ progress: HubProgress, width: Int, elapsed: Double? = nil) -> String {
        let room = max(width - 1, 1)
        switch progress.phase {
        case .resolving:
            return cut("resolving \(progress.model)", to: room)
        case .ready where progress.completedBytes == 0 && progress.totalBytes == 0,
            .failed where progress.completedBytes == 0 && progress.totalBytes == 0:
            // Nothing was to be fetched (the cache is complete), or it failed before the first file.
            return cut("\(progress.model) \(progress.phase.rawValue)", to: room)
        case .ready, .downloading, .failed:
            let parts = Parts(progress, elapsed: elapsed)
            return fit(parts, room: room)
        }
    }

    /// The pieces of a line, before fitting.
    struct Parts {
        var fraction: Double?
        var percent: String?
        var bytes: String
        var rate: String?
        /// "ETA 13s", "done in 24s" or "failed".
        var status: String?
        var label: String

        init(_ progress: HubProgress, elapsed: Double?) {
            let total = progress.totalBytes
            let done = progress.phase == .ready
            fraction = done ? 1 : progress.fractionCompleted
            percent = fraction.map { fraction in
                // Rounded down, so 100% means complete.
                let whole = "\(Int((fraction * 100).rounded(.down)))%"
                return String(repeating: " ", count: max(0, 4 - whole.count)) + whole
            }
            let completed = done && total > 0 ? total : progress.completedBytes
            bytes =
                total > 0 && !done
                ? "\(ByteCount.format(completed))/\(ByteCount.format(total))" : ByteCount.format(completed)
            let speed = progress.bytesPerSecond.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
            switch progress.phase {
            case .ready:
                rate = speed.map(ByteCount.formatRate)
                status = "done" + (elapsed.map { " in \(ByteCount.formatDuration($0))" } ?? "")
                label = progress.model
            case .failed:
                rate = nil
                status = "failed"
                label = progress.currentFile ?? progress.model
            case .downloading, .resolving:
                rate = speed.map(ByteCount.formatRate) ?? "--/s"
                if total > 0 {
                    let remaining = Double(max(0, total - progress.completedBytes))
                    status = "ETA " + (speed.map { ByteCount.formatDuration(remaining / $0) } ?? "--")
                } else {
                    status = nil
                }
                label = progress.currentFile ?? progress.model
            }
        }

        /// The text fields in the order shown, less the `dropped` least needed: the ETA first
        /// (never the "done"/"failed" word), then the rate, then the percentage.
        func fields(dropping dropped: Int = 0) -> String {
            var droppable: [WritableKeyPath<Parts, String?>] = [\.percent, \.rate]
            if status?.hasPrefix("ETA") == true { droppable.append(\.status) }
            var copy = self
            for path in droppable.suffix(dropped) { copy[keyPath: path] = nil }
            return [copy.percent, copy.bytes, copy.rate, copy.status].compactMap { $0 }.joined(separator: ProgressBar.gap)
        }

        /// How many fields `fields(dropping:)` can leave out.
        var droppableCount: Int { status?.hasPrefix("ETA") == true ? 3 : 2 }
    }

    static func fit(_ parts: Parts, room: Int) -> String {
        let fields = parts.fields()
        let label = parts.label
        if let fraction = parts.fraction {
            // "[" bar "] " fields ["  " label]
            let withoutBar = fields.count + 3
            let forBarWithLabel = room - withoutBar - gap.count - label.count
            if forBarWithLabel >= barWidths.lowerBound {
                return bar(fraction, min(forBarWithLabel, barWidths.upperBound)) + " " + fields + gap + label
            }
            let forLabel = room - withoutBar - barWidths.lowerBound - gap.count
            if forLabel >= minimumLabel {
                return bar(fraction, barWidths.lowerBound) + " " + fields + gap + cutStart(label, to: forLabel)
            }
            let forBar = room - withoutBar
            if forBar >= barWidths.lowerBound {
                return bar(fraction, min(forBar, barWidths.upperBound)) + " " + fields
            }
        } else {
            let forLabel = room - fields.count - gap.count
            if forLabel >= min(label.count, minimumLabel) {
                return fields + gap + cutStart(label, to: forLabel)
            }
        }
        for dropped in 0...parts.droppableCount {
            let shorter = parts.fields(dropping: dropped)
            if shorter.count <= room { return shorter }
        }
        return cut(parts.fields(dropping: parts.droppableCount), to: room)
    }

    /// "[=====>    ]" with `inner` characters inside.
    static func bar(_ fraction: Double, _ inner: Int) -> String {
        let clamped = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let filled = Int((clamped * Double(inner)).rounded(.down))
        if filled >= inner { return "[" + String(repeating: "=", count: inner) + "]" }
        return "[" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: inner - filled - 1) + "]"
    }

    /// `text` with its end cut off to `room` characters.
    static func cut(_ text: String, to room: Int) -> String {
        text.count <= room ? text : String(text.prefix(max(room, 0)))
    }

    /// `text` with its start replaced by "..." to fit `room`: the end of a file name
    /// ("-00002-of-00004.safetensors") is what tells files apart.
    static func cutStart(_ text: String, to room: Int) -> String {
        guard text.count > room else { return text }
        guard room > 3 else { return String(text.suffix(max(room, 0))) }
        return "..." + text.suffix(room - 3)
    }
}
