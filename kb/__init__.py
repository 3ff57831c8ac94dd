"""热线数据库: the hotline knowledge base — entries, YAML import/export, retrieval."""
