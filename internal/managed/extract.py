# Regenerates policies.json.gz, the AWS-managed policies (names, paths, versions, dates and documents) that
# Persona serves under arn:aws:iam::aws:policy/. The data comes from Moto's copy of AWS's managed policies
# (Apache-2.0), itself scraped from AWS. Run: python3 extract.py (needs `pip install moto`).
import gzip, json
from moto.iam.aws_managed_policies import aws_managed_policies_data

policies = json.loads(aws_managed_policies_data)
out = []
for name in sorted(policies):
    p = policies[name]
    out.append({"name": name, "path": p["Path"], "version": p["DefaultVersionId"],
                "created": p["CreateDate"], "updated": p["UpdateDate"],
                "document": json.dumps(p["Document"], indent=4)})
with gzip.open("policies.json.gz", "wt", compresslevel=9) as f:
    json.dump(out, f)
