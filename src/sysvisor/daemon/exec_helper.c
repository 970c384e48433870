/* sysvisor-exec: the native spawn helper (daemon/exec_helper.py builds it, spawner.py runs it).
 *
 * It does for a plain spawn what the Python helper's prepared path does (spawner.py
 * `_OwnState` + execsetup.exec_prepared), from a process of a few hundred KiB: its clone3()
 * copies almost no page tables and the child's execve() tears almost nothing down, where
 * the same from a 10 MiB interpreter costs ~1.5 ms per spawn (docs/benchmarks.md). On
 * x86-64 the child even shares the helper's memory (CLONE_VM, as posix_spawn's vfork) on a
 * stack of its own, without stopping the helper (see struct spawn): clone -> exec 0.45 ->
 * 0.25 ms.
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
#include <sys/mman.h>
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

/* One spawn: the request's bytes and everything the child reads or writes before its exec.
   The child may share this process's memory (CLONE_VM, see spawn()), so it owns this block
   until it exec'd or exited, which the end of `exec_pipe` tells: the kernel closes the
   child's close-on-exec end after switching it to the new program's memory (and an exiting
   process drops its memory before its files). Until then the helper reads it, never writes
   or frees it, and serves the next requests from blocks of their own. */
struct spawn {
    struct request r;
    char *data;            /* the request as received; r's strings point into it */
    char **env;            /* r.env and the PID variables, NULL-terminated */
    char *pid_block;       /* the PID variables added, "NAME=" and room for the digits */
    char **pid_digits;     /* where the child writes its PID in them */
    uint32_t n_pid_digits;
    int join;              /* join the cgroup by cgroup.procs (clone3 could not create us in it) */
    int error_fd;          /* fds[0]: the error pipe's write end */
    int exec_fd;           /* the child's end of exec_pipe (-1: none) */
    int exec_pipe;         /* the helper's end: readable (EOF) once the child is done with this */
    char *stack;           /* the child's stack under CLONE_VM (NULL: a copy of ours) */
    struct spawn *next;    /* in `children` while the child may still read this */
};

/* ---- the child: it only ever execs or _exits. Under CLONE_VM it runs in the helper's
   memory, on its own stack, while the helper goes on: it writes nothing but its stack and
   its struct spawn, and allocates nothing. ---- */

static void __attribute__((noreturn, format(printf, 4, 5))) fail(int error_fd, int status, int err, const char *fmt, ...) {
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

static void setup_stdio(const struct request *r, int error_fd, int target) {
    static const int status[3] = {EXIT_STDIN, EXIT_STDOUT, EXIT_STDERR};
    static const char *const what[3] = {"standard input", "standard output", "standard error"};
    int spec = r->h.stdio[target];
    if (spec == STDIO_INHERIT) { /* the helper's own, the manager's: always open here */
        if (fcntl(target, F_SETFD, 0) == 0)
            return;
        if (errno != EBADF)
            fail(error_fd, status[target], errno, "Failed to set up %s", what[target]);
        spec = STDIO_NULL;
    }
    if (spec == STDIO_NULL) {
        int fd = open("/dev/null", (target ? O_WRONLY : O_RDONLY) | O_NOCTTY);
        if (fd < 0)
            fail(error_fd, status[target], errno, "Failed to set up %s", what[target]);
        if (fd != target) {
            if (dup2(fd, target) < 0)
                fail(error_fd, status[target], errno, "Failed to set up %s", what[target]);
            close(fd);
        }
        return;
    }
    if (dup2(r->fds[spec], target) < 0) /* fds[spec] >= 3 (0-2 are always open here): no clobbering */
        fail(error_fd, status[target], errno, "Failed to set up %s", what[target]);
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

/* As is with a '/', else the first hit in the search path, built in `buf`.
   # systemd: find_executable_full() */
static const char *find_executable(const struct request *r, int error_fd, char *buf, size_t size) {
    if (strchr(r->path, '/')) {
        int err = check_executable(r->path);
        if (err)
            fail(error_fd, EXIT_EXEC, err, "Unable to locate executable '%s'", r->path);
        return r->path;
    }
    int last = ENOENT;
    for (uint32_t i = 0; i < r->h.n_search; i++) {
        int n = snprintf(buf, size, "%s/%s", r->search[i], r->path);
        int err = n < 0 || (size_t)n >= size ? ENAMETOOLONG : check_executable(buf);
        if (!err)
            return buf;
        if (last == ENOENT || err != ENOENT) /* keep the most telling error, as systemd */
            last = err;
    }
    fail(error_fd, EXIT_EXEC, last, "Unable to locate executable '%s'", r->path);
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

/* The decimal digits of `v` at `out`, NUL-terminated (no stdio: see struct spawn). */
static void write_decimal(char *out, long v) {
    char digits[24];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n > 0)
        *out++ = digits[--n];
    *out = '\0';
}

static int __attribute__((noreturn)) child(void *arg) {
    struct spawn *s = arg;
    const struct request *r = &s->r;
    int error_fd = s->error_fd;
    prctl(PR_SET_NAME, r->comm, 0, 0, 0);

    /* 1. signals: every disposition is SIG_DFL here already (main()); unblock */
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        fail(error_fd, EXIT_SIGNAL_MASK, errno, "Failed to reset signal mask");

    /* 3. the unit's cgroup, when clone3() could not create us in it */
    if (s->join) {
        char procs[4200];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", r->cgroup);
        int fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0\n", 2) != 2)
            fail(error_fd, EXIT_CGROUP, errno, "Failed to attach to cgroup %s", r->cgroup);
        close(fd);
    }

    /* 4. own session and process group */
    if ((r->h.flags & F_NEW_SESSION) && setsid() < 0)
        fail(error_fd, EXIT_SETSID, errno, "Failed to create new process session");

    /* 5. standard input, output, error; 6. nothing else open but the error pipe and the
       helper's exec pipe (both close-on-exec) */
    for (int target = 0; target < 3; target++)
        setup_stdio(r, error_fd, target);
    close_all_but(error_fd, s->exec_fd);

    umask((mode_t)r->h.umask);

    if ((r->h.flags & F_NICE) && setpriority(PRIO_PROCESS, 0, r->h.nice) < 0)
        fail(error_fd, EXIT_NICE, errno, "Failed to set up process scheduling priority (nice level)");

    for (uint32_t i = 0; i < r->h.n_limits; i++) {
        struct limit l;
        memcpy(&l, &r->limits[i], sizeof l);
        if (setrlimit_closest(l.resource, (rlim_t)l.soft, (rlim_t)l.hard) < 0)
            fail(error_fd, EXIT_LIMITS, errno, "Failed to adjust resource limit RLIMIT_%s", r->limit_names[i]);
    }

    /* 8. working directory (resolved by the manager: `~`, `-`) */
    if (chdir(r->wd) < 0) {
        if (!(r->h.flags & F_WD_MISSING_OK))
            fail(error_fd, EXIT_CHDIR, errno, "Changing to the requested working directory failed");
        if (chdir("/") < 0) { /* as the Python path: best effort */
        }
    }

    /* 10. find and exec, with $SYSTEMD_EXEC_PID and the like set to our own PID */
    char found[8192];
    const char *executable = find_executable(r, error_fd, found, sizeof found);
    long pid = (long)getpid();
    for (uint32_t i = 0; i < s->n_pid_digits; i++)
        write_decimal(s->pid_digits[i], pid);
    execve(executable, r->argv, s->env);
    fail(error_fd, EXIT_EXEC, errno, "Failed to execute %s", executable);
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

/* The child's environment: the request's, then each PID variable it does not set, as
   "NAME=" and room for the digits the child writes. 0 or ENOMEM. */
static int prepare_environment(struct spawn *s) {
    const struct request *r = &s->r;
    size_t room = 0;
    for (uint32_t i = 0; i < r->h.n_pid_vars; i++)
        room += strlen(r->pid_vars[i]) + 1 + 24;
    s->env = calloc((size_t)r->h.n_env + r->h.n_pid_vars + 1, sizeof *s->env);
    s->pid_digits = calloc((size_t)r->h.n_pid_vars + 1, sizeof *s->pid_digits);
    s->pid_block = malloc(room + 1);
    if (!s->env || !s->pid_digits || !s->pid_block)
        return ENOMEM;
    memcpy(s->env, r->env, r->h.n_env * sizeof *s->env);
    uint32_t n = r->h.n_env;
    char *at = s->pid_block;
    for (uint32_t i = 0; i < r->h.n_pid_vars; i++) {
        if (has_variable(s->env, n, r->pid_vars[i]))
            continue;
        size_t len = strlen(r->pid_vars[i]);
        memcpy(at, r->pid_vars[i], len);
        at[len] = '=';
        at[len + 1] = '\0';
        s->env[n++] = at;
        s->pid_digits[s->n_pid_digits++] = at + len + 1;
        at += len + 1 + 24;
    }
    return 0;
}

/* Stacks of children that are done with them, kept for the next ones (pages stay mapped). */
#define CHILD_STACK (128 * 1024) /* fail() alone takes 16 KiB */
#define GUARD 4096
#define STACKS_KEPT 8
static char *stacks[STACKS_KEPT];
static int n_stacks;

static char *take_stack(void) {
    if (n_stacks > 0)
        return stacks[--n_stacks];
    char *stack = mmap(NULL, CHILD_STACK + GUARD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return NULL;
    if (mprotect(stack, GUARD, PROT_NONE) < 0) { /* an overflow faults instead of writing our memory */
        munmap(stack, CHILD_STACK + GUARD);
        return NULL;
    }
    return stack;
}

static void free_spawn(struct spawn *s) {
    if (s->exec_pipe >= 0)
        close(s->exec_pipe);
    if (s->stack) {
        if (n_stacks < STACKS_KEPT)
            stacks[n_stacks++] = s->stack;
        else
            munmap(s->stack, CHILD_STACK + GUARD);
    }
    free(s->pid_block);
    free(s->pid_digits);
    free(s->env);
    free_request(&s->r);
    free(s->data);
    free(s);
}

/* Spawns whose child may still read its struct spawn (no EOF on exec_pipe yet). */
static struct spawn *children;

/* EXEC_WAIT_MSEC, or the helper's first argument (tests make children wait visibly) */
static int exec_wait_msec = EXEC_WAIT_MSEC;

/* Until `s`'s child exec'd or exited, the next request is waiting, or `msec` passed. */
static void await_exec(const struct spawn *s, int msec) {
    struct pollfd ready[2] = {{.fd = s->exec_pipe, .events = POLLIN}, {.fd = HELPER_FD, .events = POLLIN}};
    while (poll(ready, 2, msec) < 0 && errno == EINTR) {
    }
}

/* Free the blocks of the children that exec'd or exited (one poll() for all of them). */
static void release_children(void) {
    static struct pollfd *ready;
    static size_t room;
    size_t n = 0;
    for (struct spawn *c = children; c; c = c->next)
        n++;
    if (n == 0)
        return;
    if (n > room) {
        struct pollfd *grown = realloc(ready, n * sizeof *ready);
        if (!grown)
            return; /* kept until the next request: nothing is lost */
        ready = grown, room = n;
    }
    size_t i = 0;
    for (struct spawn *c = children; c; c = c->next)
        ready[i++] = (struct pollfd){.fd = c->exec_pipe, .events = POLLIN};
    if (poll(ready, (nfds_t)n, 0) <= 0)
        return;
    i = 0;
    for (struct spawn **at = &children; *at; i++) {
        if (ready[i].revents) {
            struct spawn *finished = *at;
            *at = finished->next;
            free_spawn(finished);
        } else {
            at = &(*at)->next;
        }
    }
}

#if defined(__x86_64__)
#define SV_CLONE_VM 0x00000100ULL
/* clone3() of a child that runs fn(arg) on the stack given in `args` and exits with its
   value; returns the PID or -errno. As glibc's internal __clone3 (which it does not export):
   C cannot return from a system call on a stack switched under it. */
long sv_clone3_vm(struct clone_args_v2 *args, size_t size, int (*fn)(void *), void *arg);
__asm__(".text\n"
        ".type sv_clone3_vm, @function\n"
        "sv_clone3_vm:\n"
        "    movq %rcx, %r8\n"        /* arg: the system call clobbers rcx */
        "    movl $435, %eax\n"       /* SYS_clone3 */
        "    syscall\n"
        "    testq %rax, %rax\n"
        "    jz 1f\n"
        "    ret\n"                   /* the helper: PID or -errno */
        "1:  xorl %ebp, %ebp\n"       /* the child, on its own stack: the outermost frame */
        "    andq $-16, %rsp\n"
        "    movq %r8, %rdi\n"
        "    call *%rdx\n"
        "    movl %eax, %edi\n"
        "    movl $60, %eax\n"        /* SYS_exit */
        "    syscall\n"
        "    hlt\n"
        ".size sv_clone3_vm, .-sv_clone3_vm\n");
#endif

/* clone3() with `flags`, as a copy of this process (fork-like), or sharing its memory on a
   stack of its own when s->stack is set; -1 with errno on failure. */
static long clone_child(struct spawn *s, uint64_t flags, int cgroup_fd) {
    /* with CLONE_PARENT the exit signal is the caller's own (SIGCHLD): 0 here */
    struct clone_args_v2 args = {.flags = flags, .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0};
#if defined(__x86_64__)
    if (s->stack) {
        args.flags |= SV_CLONE_VM;
        args.stack = (uint64_t)(uintptr_t)(s->stack + GUARD);
        args.stack_size = CHILD_STACK;
        long pid = sv_clone3_vm(&args, sizeof args, child, s);
        if (pid < 0) {
            errno = (int)-pid;
            return -1;
        }
        return pid;
    }
#endif
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        child(s);
    return pid;
}

/* (pid, 0), or (0, errno) when no process could be made. */
static void spawn(struct spawn *s, int32_t answer[3]) {
    struct request *r = &s->r;
    int cgroup_fd = -1, ends[2] = {-1, -1};
    int err = prepare_environment(s);
    if (err) {
        answer[0] = 0, answer[1] = err;
        return;
    }
    if (pipe2(ends, O_CLOEXEC) == 0) {
        s->exec_pipe = ends[0];
        s->exec_fd = ends[1];
#if defined(__x86_64__)
        /* sharing our memory spares copying it and tearing the copy down at the exec
           (~0.2 ms of each spawn); only with the pipe that tells when the child is done */
        s->stack = take_stack();
#endif
    }
    if (r->cgroup[0]) {
        if (r->h.flags & F_CLONE_INTO_CGROUP)
            cgroup_fd = open(r->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        s->join = cgroup_fd < 0; /* the child joins by cgroup.procs (and reports 219 if it cannot) */
    }
    long pid = clone_child(s, SV_CLONE_PARENT | (cgroup_fd >= 0 ? SV_CLONE_INTO_CGROUP : 0), cgroup_fd);
    if (pid < 0 && cgroup_fd >= 0) {
        /* refused (kernel < 5.7, no permission on the common ancestor, a domain-invalid
           cgroup): the child joins by cgroup.procs instead */
        s->join = 1;
        pid = clone_child(s, SV_CLONE_PARENT, -1);
    }
    answer[0] = pid > 0 ? (int32_t)pid : 0;
    answer[1] = pid > 0 ? 0 : errno;
    if (cgroup_fd >= 0)
        close(cgroup_fd);
    if (s->exec_fd >= 0)
        close(s->exec_fd); /* the child's now */
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

int main(int argc, char **argv) {
    if (argc > 1) {
        char *end;
        long msec = strtol(argv[1], &end, 10);
        if (*argv[1] && !*end && msec >= 0 && msec <= 3600000)
            exec_wait_msec = (int)msec;
    }
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
        release_children();
        struct iovec iov = {buf, sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
        ssize_t size = recvmsg(HELPER_FD, &msg, MSG_CMSG_CLOEXEC);
        if (size < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        struct spawn *s = calloc(1, sizeof *s);
        char *data = size > 0 ? malloc((size_t)size) : NULL;
        if (!s || (size > 0 && !data)) { /* answered ENOMEM below, after closing the fds */
            free(s);
            free(data);
            s = NULL;
        } else {
            s->data = data;
            s->exec_pipe = s->exec_fd = -1;
            if (size > 0)
                memcpy(data, buf, (size_t)size);
        }
        struct request *r = s ? &s->r : &(struct request){0};
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < n && r->n_fds < MAX_FDS; i++)
                memcpy(&r->fds[r->n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        if (size == 0 && r->n_fds == 0) {
            free(s ? s->data : NULL), free(s);
            break; /* the manager closed its end (exit, crash, re-exec) */
        }
        int32_t answer[3] = {0, 0, 2};
        if (!s)
            answer[1] = ENOMEM;
        else if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
            answer[1] = EPROTO;
        else
            answer[1] = parse(r, s->data, (size_t)size);
        if (!answer[1]) {
            s->error_fd = r->fds[0];
            spawn(s, answer);
        }
        /* ours closed first: the error pipe then ends with the child's exec, which the
           manager, answered after it, nearly always finds done (the exec releases the two
           pipes one after the other; if not yet, the manager watches the pipe) */
        for (int i = 0; i < r->n_fds; i++)
            close(r->fds[i]);
        if (answer[0] > 0 && s->exec_pipe >= 0 && (r->h.flags & F_AWAIT_EXEC))
            await_exec(s, exec_wait_msec);
        ssize_t sent = send(HELPER_FD, answer, sizeof answer, MSG_NOSIGNAL);
        if (answer[0] > 0)
            join_accounting_cgroups(r, answer[0]); /* a migration: after the answer */
        if (answer[0] > 0 && s->exec_pipe >= 0) { /* freed once the child is done with it */
            s->next = children;
            children = s;
        } else if (s) {
            free_spawn(s); /* no child, or one with a copy of it (no pipe, no CLONE_VM) */
        }
        if (sent != (ssize_t)sizeof answer)
            break;
    }
    return 0;
}
