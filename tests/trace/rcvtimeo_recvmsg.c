/* A client whose recvmsg() waits 0.3 s (SO_RCVTIMEO) for a server that
 * never sends, then ends with EAGAIN. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 1;
    struct timeval tv = {0, 300000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[10];
    struct iovec v = {buf, sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    ssize_t n = recvmsg(s, &m, 0);
    printf("recvmsg -> %zd (%s)\n", n, n < 0 ? strerror(errno) : "");
    close(s);
    return 0;
}
