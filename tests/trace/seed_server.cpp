#include <iostream>
#include <cstring>
#include <cstdlib>
#include <unistd.h>
#include <arpa/inet.h>
#define PORT 8080
#define BUFFER_SIZE 1024
int main() {
int server_fd, client_fd;
struct sockaddr_in server_addr, client_addr;
char buffer[BUFFER_SIZE];
socklen_t client_len = sizeof(client_addr);
// Create a socket
server_fd = socket(AF_INET, SOCK_STREAM, 0);
if (server_fd == -1) {
std::cerr << "Socket creation failed.\n";
exit(EXIT_FAILURE);
}
// Bind the socket to an IP address and port
server_addr.sin_family = AF_INET;
server_addr.sin_addr.s_addr = INADDR_ANY;
server_addr.sin_port = htons(PORT);
if (bind(server_fd, (struct sockaddr*)&server_addr, sizeof(server_addr)) == -1) {
std::cerr << "Binding failed.\n";
close(server_fd);
exit(EXIT_FAILURE);
}
// Listen for incoming connections
if (listen(server_fd, 5) == -1) {
std::cerr << "Listening failed.\n";
close(server_fd);
exit(EXIT_FAILURE);
}
std::cout << "Server listening on port " << PORT << "...\n";
// Accept a client connection
client_fd = accept(server_fd, (struct sockaddr*)&client_addr, &client_len);
if (client_fd == -1) {
std::cerr << "Connection acceptance failed.\n";
close(server_fd);
exit(EXIT_FAILURE);
}
std::cout << "Client connected.\n";
// Communicate with the client
memset(buffer, 0, BUFFER_SIZE);
read(client_fd, buffer, BUFFER_SIZE - 1);
std::cout << "Client says: " << buffer << std::endl;
std::string response = "Hello from server!";
send(client_fd, response.c_str(), response.size(), 0);
// Close the connection
close(client_fd);
close(server_fd);
return 0;
}
