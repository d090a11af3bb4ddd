/* A server that reads ten bytes with MSG_WAITALL: its recv waits until all
 * ten have come. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in a;
    char buf[10];
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 5) != 0)
        return 1;
    int c = accept(s, NULL, NULL);
    long n = recv(c, buf, sizeof(buf), MSG_WAITALL);
    printf("recv = %ld\n", n);
    close(c);
    close(s);
    return 0;
}
