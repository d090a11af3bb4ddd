/* A client that sends its first argument and prints what comes back. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *msg = argc > 1 ? argv[1] : "hello";
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 1;
    send(s, msg, strlen(msg), 0);
    char buf[100];
    ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
    if (n >= 0) {
        buf[n] = '\0';
        printf("got %s\n", buf);
    }
    close(s);
    return 0;
}
