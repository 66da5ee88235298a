#!/usr/bin/env python3
"""Writes src/report/map/points-10m.tsv: one representative point per country, for the
map's markers (countries too small to see or to tap at 1:110m, and countries the 1:110m
boundaries leave out: Bahrain, Gibraltar, Liechtenstein, …).

Each line is `ISO-alpha-2 <TAB> name <TAB> x,y` in the same equirectangular 1000 x 500 view
box as countries-110m.tsv (x = (lon + 180) / 360 * 1000, y = (90 - lat) / 180 * 500): the
centroid of the country's largest polygon in Natural Earth 1:10m Admin 0 – Countries (public
domain), from the npm package world-atlas 2.0.2 (`countries-10m.json`), rounded to 0.1.
Codes as in scripts/vendor_world_map.py (Debian iso-codes); features without an ISO numeric
code are left out.

Usage (run once; the output is vendored):
  cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
  python3 scripts/vendor_map_points.py /tmp/package/countries-10m.json \\
      /usr/share/iso-codes/json/iso_3166-1.json > src/report/map/points-10m.tsv
"""
import json
import sys


def main(topo_path, iso_path):
    topo = json.load(open(topo_path))
    iso = json.load(open(iso_path))["3166-1"]
    num_to_a2 = {int(c["numeric"]): c["alpha_2"] for c in iso}
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)

    def ring(indices):
        pts = []
        for i in indices:
            p = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
            pts.extend(p if not pts else p[1:])
        return pts

    def area_centroid(r):
        # Shoelace over longitudes unwrapped around the first point.
        lon0 = r[0][0]
        pts = []
        for lon, lat in r:
            while lon - lon0 > 180:
                lon -= 360
            while lon0 - lon > 180:
                lon += 360
            pts.append((lon, lat))
        a = cx = cy = 0.0
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
            c = x0 * y1 - x1 * y0
            a += c
            cx += (x0 + x1) * c
            cy += (y0 + y1) * c
        if abs(a) < 1e-12:
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            return 0.0, (sum(xs) / len(xs), sum(ys) / len(ys))
        lon, lat = cx / (3 * a), cy / (3 * a)
        while lon < -180:
            lon += 360
        while lon > 180:
            lon -= 360
        return abs(a) / 2, (lon, lat)

    best = {}
    for g in topo["objects"]["countries"]["geometries"]:
        gid = g.get("id")
        if not (gid and str(gid).isdigit()) or int(gid) not in num_to_a2:
            continue
        if g["type"] == "Polygon":
            outer = [ring(g["arcs"][0])]
        elif g["type"] == "MultiPolygon":
            outer = [ring(poly[0]) for poly in g["arcs"]]
        else:
            continue
        area, (lon, lat) = max(area_centroid(r) for r in outer if len(r) >= 3)
        code = num_to_a2[int(gid)]
        # Several features may share a code (a country and its dependencies): the largest.
        if code not in best or best[code][0] < area:
            x = (lon + 180.0) / 360.0 * 1000.0
            y = (90.0 - lat) / 180.0 * 500.0
            best[code] = (area, g.get("properties", {}).get("name", ""), x, y)
    rows = sorted((code, name, x, y) for code, (_, name, x, y) in best.items())
    for code, name, x, y in rows:
        print(f"{code}\t{name}\t{x:.1f},{y:.1f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
