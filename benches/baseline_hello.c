/* The hello lesson as a plain C program: a server and a client process in a
 * fresh user and network namespace, making the same calls sockstep makes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return 1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return 2;
    close(s);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(8080)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0) return 3;
    listen(ls, 5);
    char buf[1024];
    pid_t server = fork();
    if (server == 0) {
        int c = accept(ls, NULL, NULL);
        recv(c, buf, sizeof buf, 0);
        send(c, "Hello from server", 17, 0);
        close(c);
        close(ls);
        _exit(0);
    }
    close(ls);
    pid_t client = fork();
    if (client == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&addr, sizeof addr) != 0) _exit(4);
        send(c, "Hello from client", 17, 0);
        recv(c, buf, sizeof buf, 0);
        close(c);
        _exit(0);
    }
    int st1, st2;
    waitpid(server, &st1, 0);
    waitpid(client, &st2, 0);
    return (st1 | st2) ? 5 : 0;
}
