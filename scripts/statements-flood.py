#!/usr/bin/env python3
# One buyer floods GET /v1/billing/invoices (10 pipelined per connection) while
# /readyz is polled; prints /readyz latency and what the flooder got (issue 12/17).
#   scripts/statements-flood.py PORT BUYER_KEY CONNECTIONS SECONDS
import socket, sys, threading, time, statistics, json, urllib.request
port=int(sys.argv[1]); key=sys.argv[2]; conns=int(sys.argv[3]); seconds=float(sys.argv[4])
req=("GET /v1/billing/invoices?month=2026-12 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"%key).encode()*10
stop=time.time()+seconds
counts={'200':0,'429':0,'other':0}
lock=threading.Lock()
def flood():
    while time.time()<stop:
        try:
            s=socket.create_connection(('127.0.0.1',port),timeout=30)
            s.sendall(req)
            data=b''
            s.settimeout(30)
            while data.count(b'HTTP/1.1 ')<10 and time.time()<stop+30:
                chunk=s.recv(65536)
                if not chunk: break
                data+=chunk
            s.close()
            with lock:
                counts['200']+=data.count(b'HTTP/1.1 200'); counts['429']+=data.count(b'HTTP/1.1 429')
        except Exception as e:
            with lock: counts['other']+=1
threads=[threading.Thread(target=flood) for _ in range(conns)]
for t in threads: t.start()
lat=[]
time.sleep(0.5)
while time.time()<stop:
    t0=time.time()
    try:
        urllib.request.urlopen('http://127.0.0.1:%d/readyz'%port,timeout=60).read()
    except Exception as e:
        pass
    lat.append(time.time()-t0)
    time.sleep(0.1)
for t in threads: t.join()
lat.sort()
print(json.dumps({'connections':conns,'readyz_samples':len(lat),'readyz_median_ms':round(1000*statistics.median(lat),1),'readyz_p99_ms':round(1000*lat[int(len(lat)*0.99)-1],1),'readyz_max_ms':round(1000*lat[-1],1),'flooder':counts}))
