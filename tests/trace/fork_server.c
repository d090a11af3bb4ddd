/* A forking echo server: it accepts two clients, forks a child for each,
 * and waits for its children before it closes the listener. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 5) != 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            return 1;
        if (fork() == 0) {
            char buf[100];
            close(s);
            ssize_t n = recv(c, buf, sizeof(buf), 0);
            if (n > 0)
                send(c, buf, n, 0);
            close(c);
            return 0;
        }
        close(c);
    }
    while (wait(NULL) > 0)
        ;
    close(s);
    return 0;
}
