/* sysvisor-exec: the native spawn helper (daemon/exec_helper.py builds it, spawner.py runs it).
 *
 * It does for a plain spawn what the Python helper's prepared path does (spawner.py
 * `_OwnState` + execsetup.exec_prepared), from a process of a few hundred KiB: its clone3()
 * copies almost no page tables and the child's execve() tears almost nothing down, where
 * the same from a 10 MiB interpreter costs ~1.5 ms per spawn (docs/benchmarks.md).
 * The child runs the steps of execsetup._setup_and_exec() that a plain spawn needs, in the
 * same order, with the same exit statuses and the same record on the error pipe
 * ("status<TAB>errno<TAB>reason\n"). Anything else (User=, RootDirectory=, passed fds,
 * Type=idle) is never sent here: exec_helper.encode_request() decides.
 *
 * Protocol (one SOCK_SEQPACKET datagram per spawn, fds by SCM_RIGHTS, fds[0] the error
 * pipe's write end), native byte order:
 *   header  "=IIiI3i7I": magic, flags, nice, umask, stdin/stdout/stderr (-1 null,
 *           -2 inherit, n: fds[n]), counts of argv, env, limits, pid variables, extra
 *           cgroups, search path directories, and the payload's total size
 *   limits  n x "=iIqq": resource, 0, soft, hard (-1: RLIM_INFINITY)
 *   strings NUL-terminated: path, process name, working directory, cgroup ("" none),
 *           argv..., env..., limit names..., pid variables..., extra cgroups..., search path...
 * Answer "=iii": pid (> 0) or 0, errno, 2 (the spawns of this helper).
 * # spec: service-lifecycle.md §5, §8.3
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAGIC 0x53565832u /* "SVX2": bump with every change of the layout above */
#define F_NEW_SESSION 1u
#define F_NICE 2u
#define F_WD_MISSING_OK 4u
#define F_CLONE_INTO_CGROUP 8u
#define F_AWAIT_EXEC 16u /* answer once the child exec'd (the last spawn of the manager's turn) */
#define STDIO_NULL (-1)
#define STDIO_INHERIT (-2)

#define HELPER_FD 3
/* How long the helper waits for the exec of a child asked for with F_AWAIT_EXEC before
   answering, unless the next request comes first. Meanwhile the manager waits for the
   answer, so the child has a CPU to itself instead of queueing behind the manager's
   post-spawn work on the same one: fork -> exec 1.07 -> 0.33 ms (docs/benchmarks.md).
   Not asked for in the middle of a batch (a boot), where the manager has more to send. */
#define EXEC_WAIT_MSEC 2
#define MAX_REQUEST (200000 + 4096)
#define MAX_FDS 253

/* systemd's exit statuses (execsetup.py) */
#define EXIT_CHDIR 200
#define EXIT_NICE 201
#define EXIT_EXEC 203
#define EXIT_LIMITS 205
#define EXIT_SIGNAL_MASK 207
#define EXIT_STDIN 208
#define EXIT_STDOUT 209
#define EXIT_CGROUP 219
#define EXIT_SETSID 220
#define EXIT_STDERR 222

#define SV_CLONE_PARENT 0x00008000ULL
#define SV_CLONE_INTO_CGROUP 0x200000000ULL
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

struct header {
    uint32_t magic, flags;
    int32_t nice;
    uint32_t umask;
    int32_t stdio[3];
    uint32_t n_argv, n_env, n_limits, n_pid_vars, n_extra, n_search, size;
};

struct limit {
    int32_t resource;
    uint32_t pad;
    uint64_t soft, hard;
};

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

struct request {
    struct header h;
    const struct limit *limits; /* unaligned in the buffer: read with memcpy */
    const char *path, *comm, *wd, *cgroup;
    char **argv, **env, **limit_names, **pid_vars, **extra, **search;
    int fds[MAX_FDS];
    int n_fds;
};

/* ---- the child (a copy of this process; it only ever execs or _exits) ---- */

static int error_fd = -1;

static void __attribute__((noreturn, format(printf, 3, 4))) fail(int status, int err, const char *fmt, ...) {
    char buf[16384];
    int n = snprintf(buf, sizeof buf, "%d\t%d\t", status, err);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    if ((size_t)n < sizeof buf)
        n += snprintf(buf + n, sizeof buf - (size_t)n, ": %s\n", strerror(err));
    if ((size_t)n >= sizeof buf) { /* truncated: still one whole record */
        n = sizeof buf - 1;
        buf[n - 1] = '\n';
    }
    ssize_t ignored = write(error_fd, buf, (size_t)n);
    (void)ignored;
    _exit(status);
}

static void setup_stdio(const struct request *r, int target) {
    static const int status[3] = {EXIT_STDIN, EXIT_STDOUT, EXIT_STDERR};
    static const char *const what[3] = {"standard input", "standard output", "standard error"};
    int spec = r->h.stdio[target];
    if (spec == STDIO_INHERIT) { /* the helper's own, the manager's: always open here */
        if (fcntl(target, F_SETFD, 0) == 0)
            return;
        if (errno != EBADF)
            fail(status[target], errno, "Failed to set up %s", what[target]);
        spec = STDIO_NULL;
    }
    if (spec == STDIO_NULL) {
        int fd = open("/dev/null", (target ? O_WRONLY : O_RDONLY) | O_NOCTTY);
        if (fd < 0)
            fail(status[target], errno, "Failed to set up %s", what[target]);
        if (fd != target) {
            if (dup2(fd, target) < 0)
                fail(status[target], errno, "Failed to set up %s", what[target]);
            close(fd);
        }
        return;
    }
    if (dup2(r->fds[spec], target) < 0) /* fds[spec] >= 3 (0-2 are always open here): no clobbering */
        fail(status[target], errno, "Failed to set up %s", what[target]);
}

static rlim_t clamp_limit(rlim_t v, rlim_t highest) {
    if (highest == RLIM_INFINITY)
        return v;
    return v == RLIM_INFINITY ? highest : (v < highest ? v : highest);
}

/* setrlimit(), or as close as the current hard limit allows. # systemd: setrlimit_closest() */
static int setrlimit_closest(int resource, rlim_t soft, rlim_t hard) {
    struct rlimit rl = {soft, hard};
    if (setrlimit(resource, &rl) == 0)
        return 0;
    if (errno != EPERM)
        return -1;
    struct rlimit now;
    if (getrlimit(resource, &now) < 0)
        return -1;
    rl.rlim_cur = clamp_limit(soft, now.rlim_max);
    rl.rlim_max = clamp_limit(hard, now.rlim_max);
    return setrlimit(resource, &rl);
}

static int check_executable(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0)
        return errno;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
        return EACCES;
    return 0;
}

/* As is with a '/', else the first hit in the search path. # systemd: find_executable_full() */
static const char *find_executable(const struct request *r) {
    if (strchr(r->path, '/')) {
        int err = check_executable(r->path);
        if (err)
            fail(EXIT_EXEC, err, "Unable to locate executable '%s'", r->path);
        return r->path;
    }
    int last = ENOENT;
    for (uint32_t i = 0; i < r->h.n_search; i++) {
        char *candidate;
        if (asprintf(&candidate, "%s/%s", r->search[i], r->path) < 0)
            fail(EXIT_EXEC, ENOMEM, "Unable to locate executable '%s'", r->path);
        int err = check_executable(candidate);
        if (!err)
            return candidate;
        if (last == ENOENT || err != ENOENT) /* keep the most telling error, as systemd */
            last = err;
        free(candidate);
    }
    fail(EXIT_EXEC, last, "Unable to locate executable '%s'", r->path);
}

static int has_variable(char **env, uint32_t n, const char *name) {
    size_t len = strlen(name);
    for (uint32_t i = 0; i < n; i++)
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return 1;
    return 0;
}

/* close every fd from 3 on but `a` and `b` (either may be -1) */
static void close_all_but(int a, int b) {
    if (a > b) {
        int t = a;
        a = b, b = t;
    }
    int from = 3;
    for (int keep = 0; keep < 2; keep++) {
        int fd = keep ? b : a;
        if (fd < from)
            continue;
        if (fd > from)
            syscall(SYS_close_range, from, fd - 1, 0);
        from = fd + 1;
    }
    syscall(SYS_close_range, from, ~0U, 0);
}

/* `exec_fd`: a close-on-exec write end the helper waits on (-1: none) */
static void __attribute__((noreturn)) child(const struct request *r, int join_cgroup, int exec_fd) {
    error_fd = r->fds[0];
    prctl(PR_SET_NAME, r->comm, 0, 0, 0);

    /* 1. signals: every disposition is SIG_DFL here already (main()); unblock */
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        fail(EXIT_SIGNAL_MASK, errno, "Failed to reset signal mask");

    /* 3. the unit's cgroup, when clone3() could not create us in it */
    if (join_cgroup) {
        char procs[4200];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", r->cgroup);
        int fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0\n", 2) != 2)
            fail(EXIT_CGROUP, errno, "Failed to attach to cgroup %s", r->cgroup);
        close(fd);
    }

    /* 4. own session and process group */
    if ((r->h.flags & F_NEW_SESSION) && setsid() < 0)
        fail(EXIT_SETSID, errno, "Failed to create new process session");

    /* 5. standard input, output, error; 6. nothing else open but the error pipe and the
       helper's exec pipe (both close-on-exec) */
    for (int target = 0; target < 3; target++)
        setup_stdio(r, target);
    close_all_but(error_fd, exec_fd);

    umask((mode_t)r->h.umask);

    if ((r->h.flags & F_NICE) && setpriority(PRIO_PROCESS, 0, r->h.nice) < 0)
        fail(EXIT_NICE, errno, "Failed to set up process scheduling priority (nice level)");

    for (uint32_t i = 0; i < r->h.n_limits; i++) {
        struct limit l;
        memcpy(&l, &r->limits[i], sizeof l);
        if (setrlimit_closest(l.resource, (rlim_t)l.soft, (rlim_t)l.hard) < 0)
            fail(EXIT_LIMITS, errno, "Failed to adjust resource limit RLIMIT_%s", r->limit_names[i]);
    }

    /* 8. working directory (resolved by the manager: `~`, `-`) */
    if (chdir(r->wd) < 0) {
        if (!(r->h.flags & F_WD_MISSING_OK))
            fail(EXIT_CHDIR, errno, "Changing to the requested working directory failed");
        if (chdir("/") < 0) { /* as the Python path: best effort */
        }
    }

    /* 10. find and exec, with $SYSTEMD_EXEC_PID and the like set to our own PID */
    const char *executable = find_executable(r);
    char **env = calloc(r->h.n_env + r->h.n_pid_vars + 1, sizeof *env);
    if (!env)
        fail(EXIT_EXEC, ENOMEM, "Failed to execute %s", executable);
    memcpy(env, r->env, r->h.n_env * sizeof *env);
    uint32_t n = r->h.n_env;
    long pid = (long)getpid();
    for (uint32_t i = 0; i < r->h.n_pid_vars; i++)
        if (!has_variable(env, n, r->pid_vars[i]) && asprintf(&env[n], "%s=%ld", r->pid_vars[i], pid) >= 0)
            n++;
    env[n] = NULL;
    execve(executable, r->argv, env);
    fail(EXIT_EXEC, errno, "Failed to execute %s", executable);
}

/* ---- the helper ---- */

/* The next `n` NUL-terminated strings from *pos; NULL if the buffer ends first. */
static char **take_strings(char **pos, char *end, uint32_t n) {
    char **out = calloc((size_t)n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        char *nul = memchr(*pos, '\0', (size_t)(end - *pos));
        if (!nul) {
            free(out);
            return NULL;
        }
        out[i] = *pos;
        *pos = nul + 1;
    }
    return out;
}

static void free_request(struct request *r) {
    free(r->argv), free(r->env), free(r->limit_names), free(r->pid_vars), free(r->extra), free(r->search);
    r->argv = r->env = r->limit_names = r->pid_vars = r->extra = r->search = NULL;
}

/* 0, or the errno to answer (EPROTO: not a request of this helper's protocol). */
static int parse(struct request *r, char *buf, size_t size) {
    if (size < sizeof r->h)
        return EPROTO;
    memcpy(&r->h, buf, sizeof r->h);
    if (r->h.magic != MAGIC || r->h.size != size || r->n_fds < 1)
        return EPROTO;
    for (int i = 0; i < 3; i++)
        if (r->h.stdio[i] < STDIO_INHERIT || r->h.stdio[i] >= r->n_fds)
            return EPROTO;
    if (r->h.n_argv < 1 || r->h.n_limits > 64)
        return EPROTO;
    char *pos = buf + sizeof r->h, *end = buf + size;
    if ((size_t)(end - pos) < (size_t)r->h.n_limits * sizeof(struct limit))
        return EPROTO;
    r->limits = (const struct limit *)pos;
    pos += (size_t)r->h.n_limits * sizeof(struct limit);
    char **fixed = take_strings(&pos, end, 4);
    if (!fixed)
        return EPROTO;
    r->path = fixed[0], r->comm = fixed[1], r->wd = fixed[2], r->cgroup = fixed[3];
    free(fixed);
    if (!(r->argv = take_strings(&pos, end, r->h.n_argv)) || !(r->env = take_strings(&pos, end, r->h.n_env)) ||
        !(r->limit_names = take_strings(&pos, end, r->h.n_limits)) ||
        !(r->pid_vars = take_strings(&pos, end, r->h.n_pid_vars)) ||
        !(r->extra = take_strings(&pos, end, r->h.n_extra)) || !(r->search = take_strings(&pos, end, r->h.n_search)) ||
        pos != end) {
        free_request(r);
        return EPROTO;
    }
    return 0;
}

static long clone3(uint64_t flags, int cgroup_fd) {
    /* with CLONE_PARENT the exit signal is the caller's own (SIGCHLD): 0 here */
    struct clone_args_v2 args = {.flags = flags, .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0};
    return syscall(SYS_clone3, &args, sizeof args);
}

/* (pid, 0), or (0, errno) when no process could be made. `exec_pipe`: created here, its
   read end left open for await_exec() when a child was made (else -1). */
static void spawn(struct request *r, int32_t answer[3], int *exec_pipe) {
    int cgroup_fd = -1, join = 0, ends[2] = {-1, -1};
    if ((r->h.flags & F_AWAIT_EXEC) && pipe2(ends, O_CLOEXEC) < 0)
        ends[0] = ends[1] = -1; /* the answer then comes without waiting */
    if (r->cgroup[0]) {
        if (r->h.flags & F_CLONE_INTO_CGROUP)
            cgroup_fd = open(r->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        join = cgroup_fd < 0; /* the child joins by cgroup.procs (and reports 219 if it cannot) */
    }
    long pid = clone3(SV_CLONE_PARENT | (cgroup_fd >= 0 ? SV_CLONE_INTO_CGROUP : 0), cgroup_fd);
    if (pid < 0 && cgroup_fd >= 0) {
        /* refused (kernel < 5.7, no permission on the common ancestor, a domain-invalid
           cgroup): the child joins by cgroup.procs instead */
        join = 1;
        pid = clone3(SV_CLONE_PARENT, -1);
    }
    if (pid == 0)
        child(r, join, ends[1]);
    answer[0] = pid > 0 ? (int32_t)pid : 0;
    answer[1] = pid > 0 ? 0 : errno;
    if (cgroup_fd >= 0)
        close(cgroup_fd);
    if (ends[1] >= 0)
        close(ends[1]); /* the child's now */
    if (pid <= 0 && ends[0] >= 0) {
        close(ends[0]); /* no child to wait for */
        ends[0] = -1;
    }
    *exec_pipe = ends[0];
}

/* Until the child exec'd or exited (its end of the pipe closed), the next request is
   waiting, or EXEC_WAIT_MSEC passed. */
static void await_exec(int exec_pipe) {
    struct pollfd ready[2] = {{.fd = exec_pipe, .events = POLLIN}, {.fd = HELPER_FD, .events = POLLIN}};
    while (poll(ready, 2, EXEC_WAIT_MSEC) < 0 && errno == EINTR) {
    }
    close(exec_pipe);
}

static void join_accounting_cgroups(const struct request *r, int32_t pid) {
    char number[16];
    int len = snprintf(number, sizeof number, "%d", pid);
    for (uint32_t i = 0; i < r->h.n_extra; i++) {
        char procs[4200];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", r->extra[i]);
        int fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t ignored = write(fd, number, (size_t)len);
        (void)ignored;
        close(fd);
    }
}

int main(void) {
    /* Every signal stays blocked (the manager blocked them across fork + exec), so a Ctrl-C
       to the manager's process group cannot end us before the manager stopped its units;
       every disposition SIG_DFL, so a child inherits nothing ignored (Python's SIGPIPE,
       nohup's SIGHUP). The raw call also resets glibc's internal 32 and 33. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = {SIG_DFL, 0, NULL, 0};
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    }
    prctl(PR_SET_NAME, "sysvisor-exec", 0, 0, 0);
    for (int target = 0; target < 3; target++) { /* closed in the manager: /dev/null, as "inherit" gives */
        if (fcntl(target, F_GETFD) < 0) {
            int fd = open("/dev/null", O_RDWR);
            if (fd >= 0 && fd != target) {
                dup2(fd, target);
                close(fd);
            }
        }
    }
    /* nothing of the manager's but the socket and 0-2; ours are all close-on-exec */
    syscall(SYS_close_range, HELPER_FD + 1, ~0U, 0);
    fcntl(HELPER_FD, F_SETFD, FD_CLOEXEC);

    static char buf[MAX_REQUEST];
    static char control[CMSG_SPACE(MAX_FDS * sizeof(int))];
    for (;;) {
        struct iovec iov = {buf, sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
        ssize_t size = recvmsg(HELPER_FD, &msg, MSG_CMSG_CLOEXEC);
        if (size < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        struct request r = {0};
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < n && r.n_fds < MAX_FDS; i++)
                memcpy(&r.fds[r.n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        if (size == 0 && r.n_fds == 0)
            break; /* the manager closed its end (exit, crash, re-exec) */
        int32_t answer[3] = {0, 0, 2};
        int exec_pipe = -1;
        answer[1] = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? EPROTO : parse(&r, buf, (size_t)size);
        if (!answer[1])
            spawn(&r, answer, &exec_pipe);
        /* ours closed first: the error pipe then ends with the child's exec, which the
           manager, answered after it, finds done */
        for (int i = 0; i < r.n_fds; i++)
            close(r.fds[i]);
        if (exec_pipe >= 0)
            await_exec(exec_pipe);
        ssize_t sent = send(HELPER_FD, answer, sizeof answer, MSG_NOSIGNAL);
        if (answer[0] > 0)
            join_accounting_cgroups(&r, answer[0]); /* a migration: after the answer */
        free_request(&r);
        if (sent != (ssize_t)sizeof answer)
            break;
    }
    return 0;
}
