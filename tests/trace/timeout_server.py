# A server in Python with a timeout on its listening socket, as tutorials
# write it: accept() waits in poll() with that timeout, then reads and
# answers one client.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8080))
s.listen(5)
s.settimeout(5)
c, _ = s.accept()
c.settimeout(None)
data = c.recv(1024)
c.sendall(b"Hello from server")
c.close()
s.close()
