/* A server that sends one reply and returns from main with its sockets open. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
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
    int c = accept(l, NULL, NULL);
    send(c, "bye", 3, 0);
    return 0;
}
