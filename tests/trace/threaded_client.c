/* A client with two threads: one receives while the other sends, then
 * the first thread joins the second. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int s;

static void *reader(void *arg)
{
    char buf[100];
    ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
    if (n >= 0) {
        buf[n] = '\0';
        printf("reader got %s\n", buf);
        fflush(stdout);
    }
    return arg;
}

int main(void)
{
    s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    send(s, "ping", 4, 0);
    pthread_join(t, NULL);
    close(s);
    return 0;
}
