/* AcmeUpdate.exe: a small unsigned console program that the overlay fixtures carry data
 * appended to (an MSI, or an unknown blob) after its last section. It does nothing. */
int main(void)
{
    return 0;
}
