# A client in Python for the C server of lesson 1 (as `sockstep c hello`
# writes it): connect, send a greeting, read the answer.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("127.0.0.1", 8080))
s.sendall(b"Hello from client")
print(s.recv(1024).decode())
s.close()
