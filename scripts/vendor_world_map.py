#!/usr/bin/env python3
"""Converts Natural Earth 1:110m country boundaries (world-atlas countries-110m.json,
TopoJSON) into src/report/map/countries-110m.tsv: one line per country,
`ISO-alpha-2 <TAB> name <TAB> SVG path` in an equirectangular 1000 x 500 viewBox
(x = (lon + 180) / 360 * 1000, y = (90 - lat) / 180 * 500), coordinates rounded to 0.1
and points closer than 0.6 units to the last kept one dropped. Rings that cross the
antimeridian (Russia, Fiji, Antarctica) are kept continuous and drawn twice, shifted by
360°, and the view box clips what lies outside it.

Usage (run once; the output is vendored):
  cd /tmp && npm pack world-atlas && tar xzf world-atlas-2.0.2.tgz
  python3 scripts/vendor_world_map.py /tmp/package/countries-110m.json \
      /usr/share/iso-codes/json/iso_3166-1.json > src/report/map/countries-110m.tsv

The numeric-to-alpha-2 table comes from Debian's iso-codes package (iso_3166-1.json,
the ISO 3166-1 list as maintained by the Debian iso-codes project). Natural Earth features
without an ISO numeric code (Kosovo, Northern Cyprus, Somaliland) get `-` and are drawn
as having no scenarios.
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

    def arc_points(i):
        return arcs[i] if i >= 0 else list(reversed(arcs[~i]))

    def ring(indices):
        pts = []
        for i in indices:
            p = arc_points(i)
            pts.extend(p if not pts else p[1:])
        return pts

    def project(lon, lat):
        return ((lon + 180.0) / 360.0 * 1000.0, (90.0 - lat) / 180.0 * 500.0)

    def unwrap(ring):
        """Keeps a ring that crosses the antimeridian continuous (longitudes beyond ±180)
        and returns it with a copy shifted by 360°, so that both sides are drawn and the
        view box clips the rest."""
        out = [ring[0]]
        for lon, lat in ring[1:]:
            prev = out[-1][0]
            while lon - prev > 180:
                lon -= 360
            while prev - lon > 180:
                lon += 360
            out.append((lon, lat))
        rings = [out]
        if min(p[0] for p in out) < -180:
            rings.append([(lon + 360, lat) for lon, lat in out])
        if max(p[0] for p in out) > 180:
            rings.append([(lon - 360, lat) for lon, lat in out])
        return rings

    def path(rings):
        out = []
        for r in [u for ring in rings for u in unwrap(ring)]:
            pts = [project(*p) for p in r]
            kept = [pts[0]]
            for p in pts[1:]:
                if abs(p[0] - kept[-1][0]) + abs(p[1] - kept[-1][1]) >= 0.6:
                    kept.append(p)
            if len(kept) < 3:
                continue
            seg = "M" + "L".join(f"{x:.1f},{y:.1f}".replace(".0,", ",").replace(".0L", "L") for x, y in kept) + "Z"
            out.append(seg)
        return "".join(out)

    rows = []
    for g in topo["objects"]["countries"]["geometries"]:
        name = g.get("properties", {}).get("name", "")
        gid = g.get("id")
        code = num_to_a2.get(int(gid), "-") if gid and str(gid).isdigit() else "-"
        if g["type"] == "Polygon":
            rings = [ring(r) for r in g["arcs"]]
        elif g["type"] == "MultiPolygon":
            rings = [ring(r) for poly in g["arcs"] for r in poly]
        else:
            continue
        d = path(rings)
        if d:
            rows.append((code, name, d))
    rows.sort()
    for code, name, d in rows:
        print(f"{code}\t{name}\t{d}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
