import Glibc
import POSIX

/// Starts one worker with `posix_spawn` (never a bare `fork` of the threaded master:
/// a forked child of a multi-threaded process may only call async-signal-safe
/// functions until it execs; glibc's posix_spawn uses CLONE_VFORK and execs at once).
///
/// The child gets:
/// - fd 0 = the listening socket, fd 3 = readiness write end, fd 4 = lifeline read end;
/// - the command's `inheritedDescriptors` at fds 5, 6, …;
/// - fds 1 and 2 inherited (worker logs go where the master's go);
/// - every other descriptor closed: in the child, everything above the last given slot
///   (glibc ≥ 2.34's `closefrom` file action, looked up at run time), which also covers a
///   descriptor another thread opens without close-on-exec while this one spawns (libfcgi's
///   accept in the master's responder threads, libcurl's sockets during the first download;
///   seen in a test run as a worker holding an fd 168); without it, close-on-exec plus an
///   explicit close of each descriptor lacking the flag when the spawn is prepared;
/// - an empty signal mask and default dispositions for the signals the master handles
///   (ignored dispositions would otherwise survive exec);
/// - its own process group, so a terminal's Ctrl-C reaches only the master, which then
///   drains the workers in order.
struct WorkerSpawner {
    struct ChildDescriptors {
        var listener: Int32
        var readyWriteEnd: Int32
        var lifelineReadEnd: Int32
    }

    static let defaultedSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2]

    static func spawn(
        _ command: WorkerCommand,
        extraEnvironment: [String: String],
        descriptors: ChildDescriptors,
        closeFrom: SpawnCloseFrom.Function? = SpawnCloseFrom.function
    ) throws(SystemCallError) -> pid_t {
        // Sources must not sit on a target slot, or one dup2 would clobber another's source.
        var temporaries: [Int32] = []
        defer { temporaries.forEach { _ = close($0) } }
        func lifted(_ fd: Int32) throws(SystemCallError) -> Int32 {
            guard fd <= WorkerHandshake.lifelineDescriptor else { return fd }
            let copy = try Descriptors.duplicate(fd, atLeast: 10)
            temporaries.append(copy)
            return copy
        }
        let listener = try lifted(descriptors.listener)
        let ready = try lifted(descriptors.readyWriteEnd)
        let lifeline = try lifted(descriptors.lifelineReadEnd)
        // Always copied (close-on-exec, at 10 or above): a source on a target slot, or one
        // without the flag, would be clobbered or closed by the actions below.
        var extras: [Int32] = []
        for fd in command.inheritedDescriptors {
            let copy = try Descriptors.duplicate(fd, atLeast: 10)
            temporaries.append(copy)
            extras.append(copy)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, listener, WorkerHandshake.listenDescriptor)
        posix_spawn_file_actions_adddup2(&actions, ready, WorkerHandshake.readyDescriptor)
        posix_spawn_file_actions_adddup2(&actions, lifeline, WorkerHandshake.lifelineDescriptor)
        if closeFrom == nil {
            for fd in Descriptors.openDescriptors(atLeast: WorkerHandshake.lifelineDescriptor + 1)
            where !Descriptors.isCloseOnExec(fd) {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }
        for (index, fd) in extras.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, WorkerHandshake.lifelineDescriptor + 1 + Int32(index))
        }
        if let closeFrom {
            let first = WorkerHandshake.lifelineDescriptor + 1 + Int32(extras.count)
            let rc = closeFrom(&actions, first)
            guard rc == 0 else { throw SystemCallError("posix_spawn_file_actions_addclosefrom_np", subject: "fd \(first)", errno: rc) }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in defaultedSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var environment = command.environment
        for (key, value) in extraEnvironment { environment[key] = value }
        let argv = CStringArray([command.executable] + command.arguments)
        let envp = CStringArray(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        defer {
            argv.free()
            envp.free()
        }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, command.executable, &actions, &attributes, argv.pointers, envp.pointers)
        guard rc == 0 else { throw SystemCallError("posix_spawn", subject: command.executable, errno: rc) }
        return pid
    }
}

/// A NULL-terminated `char *[]` for argv/envp, freed explicitly after the spawn.
private struct CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
    }
}

/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), which Swift's Glibc module does not
/// declare: found with `dlsym` once, nil on an older C library (then the explicit closes alone).
enum SpawnCloseFrom {
    typealias Function = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    static let function: Function? = {
        // RTLD_DEFAULT is the null handle on glibc.
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
    }()
}
