#include <iostream>
#include <cstring>
#include <cstdlib>
#include <unistd.h>
#include <arpa/inet.h>
#define PORT 8080
#define BUFFER_SIZE 1024
int main() {
int sock;
struct sockaddr_in server_addr;
char buffer[BUFFER_SIZE];
// Create a socket
sock = socket(AF_INET, SOCK_STREAM, 0);
if (sock == -1) {
std::cerr << "Socket creation failed.\n";
exit(EXIT_FAILURE);
}
// Define server address
server_addr.sin_family = AF_INET;
server_addr.sin_port = htons(PORT);
// Convert IP address to binary form
if (inet_pton(AF_INET, "127.0.0.1", &server_addr.sin_addr) <= 0) {
std::cerr << "Invalid address/Address not supported.\n";
close(sock);
exit(EXIT_FAILURE);
}
// Connect to the server
if (connect(sock, (struct sockaddr*)&server_addr, sizeof(server_addr)) == -1) {
std::cerr << "Connection failed.\n";
close(sock);
exit(EXIT_FAILURE);
}
std::cout << "Connected to the server.\n";
// Communicate with the server
std::string message = "Hello from client!";
send(sock, message.c_str(), message.size(), 0);
memset(buffer, 0, BUFFER_SIZE);
read(sock, buffer, BUFFER_SIZE - 1);
std::cout << "Server says: " << buffer << std::endl;
// Close the connection
close(sock);
return 0;
}
