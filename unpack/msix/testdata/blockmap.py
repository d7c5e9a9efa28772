#!/usr/bin/env python3
"""Writes AppxBlockMap.xml for the named files (paths relative to the current directory, as
they will be stored in the ZIP): the SHA-256 of every 64 KiB uncompressed block, Base64,
and LfhSize = 30 + the name's length (zip -X writes no extra fields).
Usage: blockmap.py [--corrupt NAME] FILE... > AppxBlockMap.xml"""
import base64, hashlib, sys

args = sys.argv[1:]
corrupt = None
if args[:1] == ["--corrupt"]:
    corrupt, args = args[1], args[2:]
out = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
       '<BlockMap xmlns="http://schemas.microsoft.com/appx/2010/blockmap" '
       'HashMethod="http://www.w3.org/2001/04/xmlenc#sha256">']
for name in args:
    data = open(name, "rb").read()
    out.append('<File Name="%s" Size="%d" LfhSize="%d">' % (name.replace("/", "\\"), len(data), 30 + len(name.encode())))
    for i in range(0, len(data), 65536):
        h = hashlib.sha256(data[i:i + 65536]).digest()
        if name == corrupt and i == 0:
            h = bytes([h[0] ^ 1]) + h[1:]
        out.append('<Block Hash="%s"/>' % base64.b64encode(h).decode())
    out.append('</File>')
out.append('</BlockMap>')
sys.stdout.write("\n".join(out) + "\n")
