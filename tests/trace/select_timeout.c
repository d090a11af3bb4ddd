/* A server that waits 0.3 s in select() for a client that never comes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    bind(l, (struct sockaddr *)&a, sizeof(a));
    listen(l, 5);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(l, &r);
    struct timeval tv = {0, 300000};
    int n = select(l + 1, &r, 0, 0, &tv);
    printf("select -> %d\n", n);
    close(l);
    return 0;
}
