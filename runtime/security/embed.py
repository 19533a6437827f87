#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# embed.py INPUT OUTPUT SYMBOL: a C file defining `const char SYMBOL[]` as INPUT's text.
import sys

data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "w") as out:
    out.write("/* generated from %s by security/embed.py */\n" % sys.argv[1].split("/")[-1])
    out.write("const char %s[] = {\n" % sys.argv[3])
    for i in range(0, len(data), 16):
        out.write("\t" + "".join("%d," % b for b in data[i:i + 16]) + "\n")
    out.write("\t0\n};\n")
