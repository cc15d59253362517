#!/usr/bin/env python3
"""Seeds the staging certbot folder (the project's letsencrypt/, mounted as /etc/letsencrypt in
reverse-proxy) with one real certbot lineage per DOMAIN=DAYS: an ECDSA certificate expiring DAYS
days (plus one hour, so certbot's day count reads exactly DAYS) from now, the renewal config
certbot renews it from (pebble's URL, the account pebble knows, webroot authenticator), and that
account. Run by seed.sh with the host's python3, whose `cryptography` certbot itself uses.

  seed-certs.py LETSENCRYPT_DIR PEBBLE_DIR PEBBLE_PORT DOMAIN=DAYS...
"""
import datetime
import os
import shutil
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Container paths: certbot reads these inside reverse-proxy.
ETC = '/etc/letsencrypt'


def main() -> None:
    le, pebble, port, specs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    server = f'https://127.0.0.1:{port}/dir'
    accounts = os.path.join(pebble, 'certbot', 'accounts')
    account = os.listdir(os.path.join(accounts, f'127.0.0.1:{port}', 'dir'))[0]
    os.makedirs(le, exist_ok=True)
    # The folder itself stays (containers bind-mount it); its content is replaced.
    for name in os.listdir(le):
        path = os.path.join(le, name)
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
    shutil.copytree(accounts, os.path.join(le, 'accounts'))
    shutil.copy(os.path.join(pebble, 'ca.pem'), os.path.join(le, 'acme-ca.pem'))
    # Certbot's own config file: `renew --dry-run` would otherwise switch to Let's Encrypt's
    # staging server (no network here) instead of the lineage's server, and a `renew` without a
    # terminal would first sleep a random time of up to 8 minutes (meant for cron jobs).
    with open(os.path.join(le, 'cli.ini'), 'w') as f:
        f.write(f'server = {server}\nnon-interactive = true\nno-random-sleep-on-renew = true\n')
    now = datetime.datetime.now(datetime.timezone.utc)
    for spec in specs:
        domain, days = spec.split('=')
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'opsbot staging seed')]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=int(days), hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .sign(key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM)
        archive = os.path.join(le, 'archive', domain)
        live = os.path.join(le, 'live', domain)
        os.makedirs(archive)
        os.makedirs(live)
        files = {
            'cert': pem,
            'chain': pem,
            'fullchain': pem + pem,
            'privkey': key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        }
        for kind, data in files.items():
            with open(os.path.join(archive, f'{kind}1.pem'), 'wb') as f:
                f.write(data)
            os.symlink(f'../../archive/{domain}/{kind}1.pem', os.path.join(live, f'{kind}.pem'))
        os.chmod(os.path.join(archive, 'privkey1.pem'), 0o600)
        os.makedirs(os.path.join(le, 'renewal'), exist_ok=True)
        with open(os.path.join(le, 'renewal', f'{domain}.conf'), 'w') as f:
            f.write(
                f'# renew_before_expiry = 30 days\nversion = 2.1.0\n'
                f'archive_dir = {ETC}/archive/{domain}\n'
                + ''.join(f'{k} = {ETC}/live/{domain}/{k}.pem\n' for k in ('cert', 'privkey', 'chain', 'fullchain'))
                + f'\n[renewalparams]\naccount = {account}\nserver = {server}\nauthenticator = webroot\n'
                f'webroot_path = /tmp/acme-webroot,\nkey_type = ecdsa\n[[webroot_map]]\n{domain} = /tmp/acme-webroot\n'
            )


main()
