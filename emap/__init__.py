"""The map component: folium maps with self-hosted assets (see emap.maps)."""
