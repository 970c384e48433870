/* The benchmarks' service: stamps CLOCK_MONOTONIC at start (and before a planned exit) so
 * that restart latency is measured from the service side, without interpreter start-up.
 *
 *   stamp LOG TAG wait        append "S pid ns TAG", then sleep until killed
 *   stamp LOG TAG crash MS    append "S pid ns TAG", sleep MS ms, append "E pid ns TAG", exit 1
 *
 * One write(2) per line to an O_APPEND file, so concurrent services never interleave. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *tag = "-";

static void stamp(int fd, char kind) {
    struct timespec ts;
    char line[256];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int n = snprintf(line, sizeof line, "%c %d %lld %.180s\n", kind, (int)getpid(),
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, tag);
    if (write(fd, line, (size_t)n) != n) _exit(2);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: stamp LOG TAG wait|crash [MS]\n"); return 2; }
    tag = argv[2];
    int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) { perror(argv[1]); return 2; }
    stamp(fd, 'S');
    if (strcmp(argv[3], "crash") == 0) {
        long ms = argc > 4 ? atol(argv[4]) : 0;
        if (ms > 0) {
            struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
            while (nanosleep(&d, &d) != 0) {}
        }
        stamp(fd, 'E');
        _exit(1);
    }
    for (;;) pause();
}
