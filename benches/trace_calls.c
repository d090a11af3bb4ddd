/* For `cargo bench --bench trace`: N socket calls (a send and a recv on a
 * socketpair, each round) or N calls that are not a socket's (getppid),
 * timed by the program itself; prints nanoseconds per call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    long long start, end;
    if (strcmp(argv[1], "sock") == 0) {
        int sv[2];
        char b = 'x';
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            return 1;
        start = now();
        for (long i = 0; i < n; i++) {
            if (send(sv[0], &b, 1, 0) != 1 || recv(sv[1], &b, 1, 0) != 1)
                return 1;
        }
        end = now();
        fprintf(stderr, "%.0f\n", (double)(end - start) / (2.0 * n));
    } else {
        start = now();
        for (long i = 0; i < n; i++)
            getppid();
        end = now();
        fprintf(stderr, "%.1f\n", (double)(end - start) / n);
    }
    return 0;
}
