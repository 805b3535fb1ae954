import Foundation
import Logging

/// Makes a model available on local disk and returns its folder.
///
/// For a hub repository the folder is `snapshots/<commit>` in the huggingface_hub
/// cache; files already there are not fetched again, and with `offline` set (or
/// when the hub cannot be reached but the cache is complete) the network is not
/// needed. A local directory id is returned as is.
///
///     let client = HubClient(configuration: .fromEnvironment(), logger: logger)   // swift-log
///     let folder = try await client.ensureModel(id: "ModernVBERT/colmodernvbert", revision: "main") { progress in
///         health.update(progress.summary)          // "downloading 43% (120.0 MB of 280.0 MB)"
///     }
public struct HubClient: Sendable {
    public let configuration: HubConfiguration
    public let selection: FileSelection
    /// Progress, retries and fallbacks; each line carries `hub.repo` metadata.
    private let logger: Logger

    /// `logger` defaults to one that discards everything.
    public init(
        configuration: HubConfiguration, selection: FileSelection = .colModernVBert,
        logger: Logger = Logger(label: "colmodernvbert.hub", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.selection = selection
        self.logger = logger
    }

    /// Blocking variant; runs on the calling thread. `cancellation` stops it between
    /// chunks (a partial download stays resumable).
    public func ensureModel(
        id: String, revision: String = "main", observer: HubProgressObserver? = nil,
        cancellation: CancellationFlag = CancellationFlag()
    ) throws -> URL {
        let source = try ModelSource.parse(id)
        switch source {
        case .localDirectory(let url):
            logger.info("Using the local model directory \(url.path)")
            observer?(HubProgress(phase: .ready, model: id))
            return url
        case .repository(let repo):
            observer?(HubProgress(phase: .resolving, model: repo.description))
            do {
                let folder = try ensureRepository(repo, revision: revision, observer: observer, cancellation: cancellation)
                observer?(HubProgress(phase: .ready, model: repo.description))
                return folder
            } catch {
                observer?(HubProgress(phase: .failed, model: repo.description))
                throw error
            }
        }
    }

    /// Async variant: the blocking work runs on its own thread (not the cooperative
    /// pool); cancelling the task cancels the download.
    public func ensureModel(id: String, revision: String = "main", observer: HubProgressObserver? = nil) async throws
        -> URL
    {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<URL, any Error>) in
                let thread = Thread {
                    continuation.resume(
                        with: Result {
                            try self.ensureModel(id: id, revision: revision, observer: observer, cancellation: flag)
                        })
                }
                thread.name = "hub-download"
                thread.start()
            }
        } onCancel: {
            flag.cancel()
        }
    }

    /// The cached snapshot folder for `id` at `revision` when it is complete, without
    /// any network access; nil otherwise. Local directories are returned as is.
    public func cachedModel(id: String, revision: String = "main") -> URL? {
        guard let source = try? ModelSource.parse(id) else { return nil }
        switch source {
        case .localDirectory(let url): return url
        case .repository(let repo):
            let cache = RepoCache(cacheDirectory: configuration.cacheDirectory, repo: repo)
            guard let commit = try? cache.commit(forRevision: revision),
                selection.missingFiles(in: cache, commit: commit).isEmpty
            else { return nil }
            return cache.snapshotDirectory(commit: commit)
        }
    }

    // MARK: - Repository

    private func ensureRepository(
        _ repo: RepoID, revision: String, observer: HubProgressObserver?, cancellation: CancellationFlag
    ) throws -> URL {
        var logger = self.logger
        logger[metadataKey: "hub.repo"] = "\(repo)"
        let cache = RepoCache(cacheDirectory: configuration.cacheDirectory, repo: repo)
        let cachedCommit: String?
        do {
            cachedCommit = try cache.commit(forRevision: revision)
        } catch {
            // Offline there is nothing else to go by; online the hub says which commit it is.
            if configuration.offline { throw error }
            logger.warning("Ignoring the cached refs/\(revision): \(error)")
            cachedCommit = nil
        }
        let cachedComplete = cachedCommit.map { selection.missingFiles(in: cache, commit: $0).isEmpty } ?? false

        if configuration.offline {
            guard let commit = cachedCommit else {
                throw HubError.offlineCacheMiss(
                    repo: repo.description, revision: revision, cacheDirectory: configuration.cacheDirectory.path,
                    missing: ["refs/\(revision) (this revision was never downloaded)"])
            }
            let missing = selection.missingFiles(in: cache, commit: commit)
            guard missing.isEmpty else {
                throw HubError.offlineCacheMiss(
                    repo: repo.description, revision: revision, cacheDirectory: configuration.cacheDirectory.path,
                    missing: missing)
            }
            logger.info("Offline mode: using cached \(repo) at \(commit)")
            return cache.snapshotDirectory(commit: commit)
        }

        let transport = try CurlTransport(
            connectTimeout: configuration.connectTimeout, stallTimeout: configuration.stallTimeout)
        let api = HubAPI(configuration: configuration, transport: transport, cancellation: cancellation, logger: logger)

        let info: ModelInfo
        do {
            // With a usable cache, one quick try: an unreachable hub should not delay start-up.
            info = try api.modelInfo(repo: repo, revision: revision, retrying: !cachedComplete)
        } catch let error as HubError where cachedComplete && error != .cancelled {
            let commit = cachedCommit ?? revision
            logger.warning("Could not check \(repo)@\(revision) on the hub (\(error)); using the cached snapshot \(commit)")
            return cache.snapshotDirectory(commit: commit)
        }
        let commit = info.commit
        logger.info("Resolved \(repo)@\(revision) to commit \(commit)")

        let (files, weights) = try selection.plan(available: info.files, repo: repo.description, revision: revision)
        let downloader = BlobDownloader(api: api, cache: cache)
        var weightFiles: [String]
        switch weights {
        case .single(let name):
            weightFiles = [name]
        case .sharded(let index):
            try fetch(
                [index], repo: repo, commit: commit, api: api, downloader: downloader, cache: cache, observer: observer)
            let data: Data
            do {
                data = try Data(contentsOf: cache.pointerPath(commit: commit, file: index))
            } catch {
                throw HubError.fileSystem(
                    path: cache.pointerPath(commit: commit, file: index).path, operation: "read",
                    reason: error.localizedDescription)
            }
            weightFiles = try FileSelection.shards(fromIndex: data, file: index)
            if let absent = weightFiles.first(where: { !info.files.contains($0) }) {
                throw HubError.fileNotFound(repo: repo.description, revision: revision, file: absent)
            }
            weightFiles.insert(index, at: 0)
        }
        try fetch(
            files + weightFiles, repo: repo, commit: commit, api: api, downloader: downloader, cache: cache,
            observer: observer)
        do {
            try cache.writeRef(revision: revision, commit: commit)
        } catch {
            // The snapshot is complete; the ref only serves later offline starts
            // (a read-only mounted cache cannot take it, which is fine).
            logger.warning("Could not record refs/\(revision) -> \(commit): \(error)")
        }
        return cache.snapshotDirectory(commit: commit)
    }

    /// Downloads what the snapshot lacks among `files` and links it in.
    private func fetch(
        _ files: [String], repo: RepoID, commit: String, api: HubAPI, downloader: BlobDownloader, cache: RepoCache,
        observer: HubProgressObserver?
    ) throws {
        let missing = files.filter { !cache.hasFile(commit: commit, file: $0) }
        guard !missing.isEmpty else { return }
        try FileSystem.createDirectory(cache.repoDirectory)
        cache.tagCacheDirectory()

        var remote: [RemoteFile] = []
        for file in missing {
            let metadata = try api.fileMetadata(repo: repo, commit: commit, file: file)
            guard metadata.commit == commit else {
                throw HubError.invalidResponse(
                    url: api.resolveURL(repo: repo, revision: commit, file: file),
                    reason: "X-Repo-Commit \(metadata.commit) differs from the requested commit \(commit)")
            }
            remote.append(metadata)
        }
        // Sizes come from the network: an absurd pair must not overflow (and trap).
        let total = remote.reduce(Int64(0)) { ByteCount.sum($0, $1.size ?? 0) }
        api.logger.info("Fetching \(remote.count) file(s) of \(repo), \(ByteCount.format(total)) in all")
        let meter = DownloadMeter(
            model: repo.description, totalBytes: total, observer: observer, logger: api.logger,
            largeFileThreshold: configuration.largeFileThreshold, logInterval: configuration.progressLogInterval)
        for file in remote {
            try downloader.ensureBlob(file, meter: meter)
            try cache.linkPointer(commit: commit, file: file.name, etag: file.etag)
        }
    }
}
